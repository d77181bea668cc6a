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

    /// <summary>
    /// Runs ffmpeg with <paramref name="args"/>. Standard output is collected up to <paramref name="maxOutputBytes"/>
    /// (and never past what one array holds): a run that writes more is killed, so a small hostile file cannot make it
    /// fill memory.
    /// </summary>
    /// <exception cref="MediaRejectedException">ffmpeg is missing, the run exceeded <paramref name="timeout"/>, it wrote more than
    /// <paramref name="maxOutputBytes"/>, or its output could not be read (<paramref name="what"/> names the input).</exception>
    public static Result Run(IEnumerable<string> args, TimeSpan timeout, string what, long maxOutputBytes = long.MaxValue)
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
            var limit = Math.Min(maxOutputBytes, Array.MaxLength);
            using var stdout = new MemoryStream();
            var overLimit = false;
            var copy = Task.Run(async () =>
            {
                var chunk = new byte[81920];
                var stream = process.StandardOutput.BaseStream;
                int n;
                while ((n = await stream.ReadAsync(chunk)) > 0)
                {
                    if (stdout.Length + n > limit)
                    {
                        overLimit = true;
                        Kill(process);
                        return;
                    }
                    stdout.Write(chunk, 0, n);
                }
            });
            var stderr = ReadLogAsync(process.StandardError);
            if (!process.WaitForExit(timeout))
            {
                Kill(process);
                process.WaitForExit();
                throw new MediaRejectedException($"{what} decode exceeded the {timeout.TotalSeconds:0.#} s time limit");
            }
            try
            {
                copy.Wait();
                stderr.Wait();
            }
            catch (AggregateException ex) when (ex.InnerException is IOException or ObjectDisposedException)
            {
                throw new MediaRejectedException($"{what}: cannot read ffmpeg's output ({ex.InnerException.Message})", ex.InnerException);
            }
            if (overLimit) throw new MediaRejectedException($"{what} decodes to more than {limit} bytes (decompression bomb?)");
            var log = stderr.Result;
            var errors = log.Where(l => l.Contains("[error]") || l.Contains("[fatal]"))
                .Select(l => Prefix().Replace(l.Replace("[error] ", "").Replace("[fatal] ", ""), ""))
                .ToArray();
            return new Result(process.ExitCode, stdout.ToArray(), log, errors);
        }
    }

    /// <summary>Most log kept from one run; a damaged stream can make ffmpeg log a line per frame, and the rest is drained unread.</summary>
    const int MaxLogChars = 1 << 20;

    /// <summary>ffmpeg's stderr as trimmed, non-empty lines: the first <see cref="MaxLogChars"/> characters of them, then a line saying how many more were dropped.</summary>
    static async Task<string[]> ReadLogAsync(StreamReader stderr)
    {
        var lines = new List<string>();
        long kept = 0, dropped = 0;
        while (await stderr.ReadLineAsync() is { } line)
        {
            line = line.Trim();
            if (line.Length == 0) continue;
            if (kept + line.Length > MaxLogChars) { dropped++; continue; }
            kept += line.Length;
            lines.Add(line);
        }
        if (dropped > 0) lines.Add($"[info] ({dropped} more log lines dropped)");
        return [.. lines];
    }

    static void Kill(Process process)
    {
        try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } catch (System.ComponentModel.Win32Exception) { }
    }

    /// <summary>ffmpeg's "[component @ 0x…] " line prefix.</summary>
    [GeneratedRegex(@"^\[[^\]]*@ 0x[0-9a-f]+\]\s*")]
    private static partial Regex Prefix();
}
