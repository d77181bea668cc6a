using System.Diagnostics;

namespace Media.Tests;

/// <summary>Runs a tool the tests use (ffmpeg, sox, espeak-ng, rabbitmqctl …) and collects its output.</summary>
static class TestProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(string exe, IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return new Result(p.ExitCode, stdout, stderr.Result);
    }

    /// <summary>Runs and throws, with the tool's stderr, when it fails.</summary>
    public static Result Check(string exe, params string[] args)
    {
        var r = Run(exe, args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', args)}: {r.Stderr}");
        return r;
    }
}
