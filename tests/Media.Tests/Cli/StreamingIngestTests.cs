using System.Diagnostics;
using System.Text.Json;
using Media.Application;
using Media.Workers;
using Microsoft.Extensions.Logging.Abstractions;

namespace Media.Tests.Cli;

/// <summary>Streaming <c>media ingest</c>: bounded submissions, memory that does not follow the file count, and a re-run that skips by file stamp.</summary>
public sealed class StreamingIngestTests : IDisposable
{
    readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    string Frames(string name, int count)
    {
        var dir = _tmp[name];
        Directory.CreateDirectory(dir);
        Ffmpeg.Run("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25", "-frames:v", count.ToString(), "-q:v", "5", Path.Combine(dir, "f%05d.jpg"));
        return dir;
    }

    [Fact]
    public async Task At_most_max_in_flight_files_are_taken_from_the_enumeration_before_their_results()
    {
        var input = Frames("frames", 40);
        var host = MediaHost.Build(new MediaServiceOptions { DataDirectory = _tmp["data"] }, NullLoggerFactory.Instance, trackSubmissions: true);
        try
        {
            await host.StartAsync();
            long taken = 0, finished = 0, worst = 0;
            IEnumerable<string> Lazily()
            {
                foreach (var f in Directory.GetFiles(input).Order(StringComparer.Ordinal))
                {
                    var ahead = Interlocked.Increment(ref taken) - Interlocked.Read(ref finished);
                    InterlockedMax(ref worst, ahead);
                    yield return f;
                }
            }
            var statuses = new System.Collections.Concurrent.ConcurrentBag<string>();
            var submitted = await MediaHost.SubmitStreamAsync(host, Lazily(), maxInFlight: 4, (_, t) =>
            {
                statuses.Add(t.Result.Status);
                Interlocked.Increment(ref finished);
            });
            Assert.Equal(40, submitted);
            Assert.Equal(40, statuses.Count);
            Assert.All(statuses, s => Assert.Equal("indexed", s));
            Assert.InRange(worst, 1, 4 + 1); // the one taken while waiting for a free slot
        }
        finally
        {
            await MediaHost.StopAndDisposeAsync(host);
        }

        static void InterlockedMax(ref long target, long value)
        {
            for (var seen = Interlocked.Read(ref target); value > seen; seen = Interlocked.Read(ref target))
                if (Interlocked.CompareExchange(ref target, value, seen) == seen) return;
        }
    }

    /// <summary>Runs <c>media ingest --json</c> and returns its lines, and peak RSS (VmHWM, polled until exit).</summary>
    static (JsonElement[] Lines, long PeakBytes) Ingest(params string[] args)
    {
        var psi = new ProcessStartInfo(Paths.MediaExe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "ingest", "--json" }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        long peak = 0;
        var status = $"/proc/{p.Id}/status";
        while (!p.WaitForExit(20))
        {
            try
            {
                foreach (var line in File.ReadLines(status))
                    if (line.StartsWith("VmHWM:")) peak = Math.Max(peak, long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024);
            }
            catch (IOException) { }
        }
        Assert.True(p.ExitCode == 0, stderr.Result);
        return ([.. stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())], peak);
    }

    [Fact]
    public void Peak_memory_does_not_grow_with_the_file_count_and_a_rerun_skips_every_file_unread()
    {
        var small = Frames("small", 500);   // the first 500 frames of the same test pattern: the same bytes as large's first 500
        var large = Frames("large", 2000);
        var (lines, _) = Ingest("--data", _tmp["data-large"], large);
        Assert.Equal(2000, lines.Count(l => l.GetProperty("status").GetString() == "indexed"));
        // Memory against the file count alone, over one catalog (the 2000 items, so the catalog's page cache and indexes
        // are the same in both runs; comparing two catalogs of 500 and 2000 items measured their growth, not ingest's):
        // every file read again with --rescan, 500 files against 4x as many. The old ingest kept a waiter and a result per file.
        var (smallRescan, smallPeak) = Ingest("--data", _tmp["data-large"], "--rescan", small);
        Assert.Equal(500, smallRescan.Length);
        var (largeRescan, largePeak) = Ingest("--data", _tmp["data-large"], "--rescan", large);
        Assert.Equal(2000, largeRescan.Length);
        Assert.True(largePeak < smallPeak + 24L * 1024 * 1024, $"peak RSS {largePeak / 1048576} MiB for 2000 files against {smallPeak / 1048576} MiB for 500");

        // The re-run reads nothing: every file is matched by path, size and mtime and reported as skipped with its item.
        // To prove it, every file's bytes are zeroed with its size and mtime kept: a file read would be rejected as corrupt.
        var originals = Directory.GetFiles(large).ToDictionary(f => f, f => (Bytes: File.ReadAllBytes(f), Mtime: File.GetLastWriteTimeUtc(f)));
        foreach (var (file, (bytes, mtime)) in originals) { File.WriteAllBytes(file, new byte[bytes.Length]); File.SetLastWriteTimeUtc(file, mtime); }
        var (again, _) = Ingest("--data", _tmp["data-large"], large);
        Assert.Equal(2000, again.Length);
        Assert.All(again, l => Assert.Equal("skipped", l.GetProperty("status").GetString()));
        Assert.Equal(lines.ToDictionary(l => l.GetProperty("path").GetString()!, l => l.GetProperty("id").GetString()),
            again.ToDictionary(l => l.GetProperty("path").GetString()!, l => l.GetProperty("id").GetString()));
        foreach (var (file, (bytes, mtime)) in originals) { File.WriteAllBytes(file, bytes); File.SetLastWriteTimeUtc(file, mtime); }

        // A file rewritten in place (new size and mtime) is read again and found by its SHA-256: it now holds the bytes of
        // frame 500 (the same test pattern in both folders), already catalogued. --rescan reads everything.
        var changed = Directory.GetFiles(large).Order(StringComparer.Ordinal).First();
        var frame500 = Directory.GetFiles(small).Order(StringComparer.Ordinal).Last();
        File.Copy(frame500, changed, overwrite: true);
        var (third, _) = Ingest("--data", _tmp["data-large"], large);
        var reread = third.Single(l => l.GetProperty("path").GetString() == changed);
        Assert.Equal("duplicate", reread.GetProperty("status").GetString());
        Assert.Equal(lines.Single(l => Path.GetFileName(l.GetProperty("path").GetString()) == Path.GetFileName(frame500)).GetProperty("id").GetString(),
            reread.GetProperty("id").GetString());
        Assert.Equal(1999, third.Count(l => l.GetProperty("status").GetString() == "skipped"));
        var (rescan, _) = Ingest("--data", _tmp["data-large"], "--rescan", large);
        Assert.All(rescan, l => Assert.Equal("duplicate", l.GetProperty("status").GetString()));
    }
}
