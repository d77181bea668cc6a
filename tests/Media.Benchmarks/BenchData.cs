using System.Diagnostics;

namespace Media.Benchmarks;

/// <summary>Benchmark inputs, generated once into the ignored .bench/ folder from the shared PDQ photos.</summary>
public static class BenchData
{
    public static string RepoRoot { get; } = FindRoot();
    public static string Root => Path.Combine(RepoRoot, ".bench");
    static string Bridge => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "pdq", "images", "bridge-mods", "aaa-orig.jpg"));

    /// <summary>A 4000×3000 (12-megapixel) JPEG photo.</summary>
    public static string Jpeg12MP => Make("photo-12mp.jpg", "-vf", "scale=4000:3000:flags=lanczos", "-q:v", "2");
    /// <summary>A 1155×866 (1-megapixel) PNG.</summary>
    public static string Png1MP => Make("photo-1mp.png", "-vf", "scale=1155:866:flags=lanczos");

    static string Make(string name, params string[] args)
    {
        var path = Path.Combine(Root, name);
        if (File.Exists(path)) return path;
        Directory.CreateDirectory(Root);
        Ffmpeg(["-i", Bridge, .. args, path]);
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
