using System.Diagnostics;

namespace Media.Benchmarks;

/// <summary>Benchmark inputs, generated once into the ignored .bench/ folder from the shared PDQ photos.</summary>
public static class BenchData
{
    public static string RepoRoot { get; } = FindRoot();
    public static string Root => Path.Combine(RepoRoot, ".bench");

    /// <summary>A 4000×3000 (12-megapixel) JPEG photo (tools/make_bench_inputs.py).</summary>
    public static string Jpeg12MP => Input(Path.Combine("stages", "jpeg-12mp.jpg"));
    /// <summary>A 1155×866 (1-megapixel) PNG (tools/make_bench_inputs.py).</summary>
    public static string Png1MP => Input(Path.Combine("stages", "png-1mp.png"));

    /// <summary>A file under .bench/, made (once, with every other input) by tools/make_bench_inputs.py, as <c>make bench</c> does.</summary>
    static string Input(string relative)
    {
        var path = Path.Combine(Root, relative);
        if (File.Exists(path)) return path;
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(RepoRoot, "tools", "make_bench_inputs.py"), "--out", Root, "--shared", Path.Combine(RepoRoot, "..", "shared") }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("make_bench_inputs.py failed: " + err);
        return path;
    }

    public static byte[] Ffmpeg(string[] args)
    {
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-nostdin", "-hide_banner", "-v", "error", "-y" }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        using var ms = new MemoryStream();
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.BaseStream.CopyTo(ms);
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("ffmpeg failed: " + err.Result);
        return ms.ToArray();
    }

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Media.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
