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

    /// <summary>Runs <c>media</c> with <paramref name="args"/>, parsing its stdout as JSON lines as they arrive and
    /// calling <paramref name="onLine"/> with the count so far (a test can kill or restart a process mid-run).</summary>
    /// <exception cref="TimeoutException">Still running after <paramref name="timeout"/> (it is killed).</exception>
    public static (int Code, List<JsonElement> Lines, string Stderr) RunJsonLines(IEnumerable<string> args, TimeSpan timeout, Action<int> onLine)
    {
        var psi = new ProcessStartInfo(Paths.MediaExe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var lines = new List<JsonElement>();
        var reader = Task.Run(() =>
        {
            while (p.StandardOutput.ReadLine() is { } line)
            {
                lines.Add(JsonDocument.Parse(line).RootElement.Clone());
                onLine(lines.Count);
            }
        });
        if (!p.WaitForExit(timeout))
        {
            p.Kill();
            throw new TimeoutException($"media {string.Join(' ', args)} did not finish; {lines.Count} results; {stderr.Result}");
        }
        reader.Wait();
        return (p.ExitCode, lines, stderr.Result);
    }
}
