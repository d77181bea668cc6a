using System.Diagnostics;
using System.Text.Json;
using Media.Catalog;

namespace Media.Tests.Cli;

/// <summary>The embedded catalog under a crash and under a second process reading while one writes.</summary>
public sealed class CatalogDurabilityTests : IDisposable
{
    readonly TempDir _tmp = new();

    string Frames(int count)
    {
        var dir = _tmp["frames"];
        Directory.CreateDirectory(dir);
        Ffmpeg.Run("-f", "lavfi", "-i", "testsrc2=size=480x270:rate=25", "-frames:v", count.ToString(), "-q:v", "4", Path.Combine(dir, "f%03d.jpg"));
        return dir;
    }

    static Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo(Paths.MediaExe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    [Fact]
    public void Kill_9_mid_ingest_loses_no_acknowledged_item_and_a_rerun_completes_the_folder()
    {
        var input = Frames(80);
        var data = _tmp["data"];
        var acknowledged = new List<string>();
        using (var ingest = Start("ingest", "--json", "--data", data, "--pack", Paths.ColorClip, input))
        {
            _ = ingest.StandardError.ReadToEndAsync();
            while (acknowledged.Count < 25 && ingest.StandardOutput.ReadLine() is { } line)
                acknowledged.Add(JsonDocument.Parse(line).RootElement.GetProperty("id").GetString()!);
            ingest.Kill(entireProcessTree: true);   // SIGKILL: no drain, no snapshot
            ingest.WaitForExit();
        }
        Assert.Equal(25, acknowledged.Count);

        using (var catalog = SqliteCatalog.Open(data))
            foreach (var id in acknowledged) Assert.NotNull(catalog.Find(id));
        var stats = CliRunner.Run("stats", "--data", data, "--json");
        Assert.Equal(0, stats.ExitCode);

        var rerun = CliRunner.Run("ingest", "--json", "--data", data, "--pack", Paths.ColorClip, input);
        Assert.Equal(0, rerun.ExitCode);
        var lines = rerun.JsonLines();
        Assert.Equal(80, lines.Length);
        Assert.All(lines, l => Assert.NotEqual("rejected", l.GetProperty("status").GetString()));
        Assert.Equal(80, CliRunner.Run("stats", "--data", data, "--json").JsonLines()[0].GetProperty("items").GetInt64());
    }

    [Fact]
    public async Task Stats_from_a_second_process_answers_while_ingest_writes()
    {
        var input = Frames(120);
        var data = _tmp["data"];
        using var ingest = Start("ingest", "--json", "--data", data, "--pack", Paths.ColorClip, input);
        var stderr = ingest.StandardError.ReadToEndAsync();
        var results = 0;
        var reader = Task.Run(() => { while (ingest.StandardOutput.ReadLine() is not null) Interlocked.Increment(ref results); });
        var counts = new List<long>();
        while (!ingest.HasExited || counts.Count == 0)
        {
            if (!Directory.Exists(data) || !File.Exists(Path.Combine(data, SqliteCatalog.FileName))) { Thread.Sleep(50); continue; }
            var stats = CliRunner.Run("stats", "--data", data, "--json");
            Assert.True(stats.ExitCode == 0, stats.Stderr);
            counts.Add(stats.JsonLines()[0].GetProperty("items").GetInt64());
        }
        await reader;
        Assert.True(ingest.ExitCode == 0, await stderr);
        Assert.Equal(120, results);
        Assert.True(counts.Count >= 2, "stats ran during the ingest");
        Assert.Equal(counts.Order(), counts);   // a reader never sees the catalog go backwards
        Assert.Equal(120, CliRunner.Run("stats", "--data", data, "--json").JsonLines()[0].GetProperty("items").GetInt64());
    }

    public void Dispose() => _tmp.Dispose();
}
