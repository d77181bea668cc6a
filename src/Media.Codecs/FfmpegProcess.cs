using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Media.Codecs;

/// <summary>
/// Runs the ffmpeg CLI for the decoders: stdout collected as bytes, stderr as text, killed with its process tree at the
/// timeout. Callers pass <c>-v level+error</c>-style logging so stderr lines carry their level.
/// </summary>
internal static partial class FfmpegProcess
{
    /// <summary>The result of one run; <see cref="Errors"/> are the error- and fatal-level log lines without their prefixes.</summary>
    public sealed record Result(int ExitCode, byte[] Output, string[] Log, string[] Errors);

    /// <exception cref="MediaRejectedException">ffmpeg is missing, or the run exceeded <paramref name="timeout"/> (<paramref name="what"/> names the input).</exception>
    public static Result Run(IEnumerable<string> args, TimeSpan timeout, string what)
    {
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new MediaRejectedException("cannot start ffmpeg");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new MediaRejectedException($"{what} needs the ffmpeg CLI, which is not installed ({ex.Message})", ex);
        }
        using (process)
        {
            using var stdout = new MemoryStream();
            var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                process.WaitForExit();
                throw new MediaRejectedException($"{what} decode exceeded the {timeout.TotalSeconds:0.#} s time limit");
            }
            copy.Wait();
            var log = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var errors = log.Where(l => l.Contains("[error]") || l.Contains("[fatal]"))
                .Select(l => Prefix().Replace(l.Replace("[error] ", "").Replace("[fatal] ", ""), ""))
                .ToArray();
            return new Result(process.ExitCode, stdout.ToArray(), log, errors);
        }
    }

    /// <summary>ffmpeg's "[component @ 0x…] " line prefix.</summary>
    [GeneratedRegex(@"^\[[^\]]*@ 0x[0-9a-f]+\]\s*")]
    private static partial Regex Prefix();
}
