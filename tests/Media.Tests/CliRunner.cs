using System.Diagnostics;
using System.Text.Json;

namespace Media.Tests;

/// <summary>Runs the real <c>media</c> executable as a child process, as scripts would.</summary>
static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public JsonElement[] JsonLines() => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
    }

    public static Result Run(params string[] args) => RunIn(Paths.RepoRoot, null, args);

    public static Result RunIn(string workingDirectory, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo(Paths.MediaExe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("media " + string.Join(' ', args) + " did not finish");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
