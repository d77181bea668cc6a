using System.Diagnostics;
using System.Text.Json;
using Media.Catalog;
using Media.Domain;

namespace Media.Tests.Cli;

/// <summary>
/// Reprocessing a catalog with a new pack version through the real executable: <c>media reprocess</c> killed with SIGKILL
/// midway and re-run, missing sources, <c>media jobs</c>, <c>media pack activate</c> and search from the active version.
/// </summary>
public sealed class ReprocessCliTests : IDisposable
{
    readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    /// <summary>The colour fixture pack copied under a new version (same name, same model): a second version of one pack.</summary>
    string Version(string version)
    {
        var dir = _tmp[$"color-clip-{version}"];
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Paths.ColorClip)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var manifest = Path.Combine(dir, "pack.json");
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"version\": \"1.0.0\"", $"\"version\": \"{version}\""));
        return dir;
    }

    string Frames(int count)
    {
        var dir = _tmp["frames"];
        Directory.CreateDirectory(dir);
        Ffmpeg.Run("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-frames:v", count.ToString(), "-q:v", "4", Path.Combine(dir, "f%03d.jpg"));
        return dir;
    }

    /// <summary>One request in flight and long batch waits: slow enough (about 8 items/s) to be killed midway.</summary>
    static readonly Dictionary<string, string> Slow = new() { ["Media__Reprocess__MaxInFlight"] = "1", ["Media__Pipeline__BatchTimeLimitMs"] = "120" };

    static CliRunner.Result Run(params string[] args) => CliRunner.RunIn(Paths.RepoRoot, Slow, args);

    static long Count(string data, string sql)
    {
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data, SqliteCatalog.FileName)};Pooling=False;Mode=ReadOnly");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return (long)cmd.ExecuteScalar()!;
    }

    static JsonElement Event(CliRunner.Result r, string name) => r.JsonLines().Single(l => l.GetProperty("event").GetString() == name);

    [Fact]
    public void A_reprocess_killed_midway_resumes_with_the_remainder_lists_missing_sources_and_activation_switches_search()
    {
        const int n = 60;
        var input = Frames(n);
        var data = _tmp["data"];
        var v2 = Version("2.0.0");
        var ingest = CliRunner.Run("ingest", "--json", "--data", data, "--pack", Paths.ColorClip, input);
        Assert.True(ingest.ExitCode == 0, ingest.Stderr);
        Assert.Equal(n, ingest.JsonLines().Count(l => l.GetProperty("status").GetString() == "indexed"));
        string[] gone = ["f010.jpg", "f030.jpg", "f055.jpg"];
        var moved = _tmp["moved"];
        Directory.CreateDirectory(moved);
        foreach (var g in gone) File.Move(Path.Combine(input, g), Path.Combine(moved, g));

        // Run 1: SIGKILL once the first progress line shows work done.
        var psi = new ProcessStartInfo(Paths.MediaExe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "reprocess", "--json", "--data", data, "--pack", v2 }) psi.ArgumentList.Add(a);
        foreach (var (k, v) in Slow) psi.Environment[k] = v;
        using (var first = Process.Start(psi)!)
        {
            _ = first.StandardError.ReadToEndAsync();
            while (first.StandardOutput.ReadLine() is { } line)
            {
                var e = JsonDocument.Parse(line).RootElement;
                if (e.GetProperty("event").GetString() == "progress" && e.GetProperty("processed").GetInt64() > 0) break;
            }
            first.Kill(entireProcessTree: true);
            first.WaitForExit();
        }
        var afterKill = Count(data, "SELECT COUNT(*) FROM embeddings WHERE pack = 'color-clip@2.0.0'");
        Assert.InRange(afterKill, 1, n - gone.Length - 1);
        var killed = Assert.Single(Run("jobs", "--data", data, "--json").JsonLines());
        Assert.Equal("running", killed.GetProperty("status").GetString()); // its heartbeat is fresh; it is "interrupted" after 30 s

        // Run 2 continues the same job with only the remainder; the moved files are listed as missing, with the reason.
        var second = Run("reprocess", "--json", "--data", data, "--pack", v2);
        Assert.True(second.ExitCode == 1, second.Stderr);
        var summary = Event(second, "summary");
        Assert.Equal(1, summary.GetProperty("job").GetInt64());
        Assert.Equal(2, summary.GetProperty("run").GetInt32());
        Assert.Equal("incomplete", summary.GetProperty("status").GetString());
        Assert.Equal(n - afterKill, summary.GetProperty("pending").GetInt64());
        Assert.Equal(n - gone.Length - afterKill, summary.GetProperty("processed").GetInt64());
        Assert.Equal(0, summary.GetProperty("alreadyEmbedded").GetInt64());
        Assert.Equal((n, n - gone.Length), (summary.GetProperty("total").GetInt64(), summary.GetProperty("covered").GetInt64()));
        var missing = summary.GetProperty("missingItems").EnumerateArray().ToArray();
        Assert.Equal(gone, missing.Select(m => Path.GetFileName(m.GetProperty("path").GetString()!)));
        Assert.All(missing, m => Assert.Equal("no such file", m.GetProperty("reason").GetString()));
        Assert.Equal(gone.Length, second.JsonLines().Count(l => l.GetProperty("event").GetString() == "missing"));
        // Exactly one embedding of the new version per readable item, none for the missing ones, the old version untouched.
        Assert.Equal(n - gone.Length, Count(data, "SELECT COUNT(*) FROM embeddings WHERE pack = 'color-clip@2.0.0'"));
        Assert.Equal(n - gone.Length, Count(data, "SELECT COUNT(DISTINCT seq) FROM embeddings WHERE pack = 'color-clip@2.0.0'"));
        Assert.Equal(n, Count(data, "SELECT COUNT(*) FROM embeddings WHERE pack = 'color-clip@1.0.0'"));

        var job = Assert.Single(Run("jobs", "--data", data, "--json").JsonLines());
        Assert.Equal(("incomplete", (long)n, (long)(n - gone.Length), (long)gone.Length), (job.GetProperty("status").GetString(), job.GetProperty("total").GetInt64(),
            job.GetProperty("covered").GetInt64(), job.GetProperty("missing").GetInt64()));
        var runs = job.GetProperty("runs").EnumerateArray().ToArray();
        Assert.Equal(["killed", "incomplete"], runs.Select(r => r.GetProperty("status").GetString()));
        // The killed run's count is its last progress write (at most a second behind what it embedded); coverage is exact.
        Assert.InRange(runs[0].GetProperty("processed").GetInt64(), 1, afterKill);
        Assert.Equal(n - gone.Length - afterKill, runs[1].GetProperty("processed").GetInt64());

        // Not yet covering the catalog: activation is refused, and search with both versions loaded answers from the first.
        var refused = Run("pack", "activate", "color-clip@2.0.0", "--data", data);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("3 items", refused.Stderr);
        JsonElement[] Search() => CliRunner.Run("search", "--data", data, "--pack", Paths.ColorClip, "--pack", v2, "--text", "red", "--k", "5", "--json")
            .JsonLines()[0].GetProperty("results").EnumerateArray().ToArray();
        Assert.All(Search(), h => Assert.Equal("1.0.0", h.GetProperty("version").GetString()));

        // The sources come back: run 3 embeds exactly those, the job completes, activation switches search to the new version.
        foreach (var g in gone) File.Move(Path.Combine(moved, g), Path.Combine(input, g));
        var third = Run("reprocess", "--json", "--data", data, "--pack", v2);
        Assert.True(third.ExitCode == 0, third.Stderr);
        var done = Event(third, "summary");
        Assert.Equal(("completed", (long)gone.Length, 0), (done.GetProperty("status").GetString(), done.GetProperty("processed").GetInt64(), done.GetProperty("missingItems").GetArrayLength()));
        Assert.Equal(n, Count(data, "SELECT COUNT(*) FROM embeddings WHERE pack = 'color-clip@2.0.0'"));
        var activated = Assert.Single(Run("pack", "activate", "color-clip@2.0.0", "--data", data, "--json").JsonLines());
        Assert.Equal(JsonValueKind.Null, activated.GetProperty("previous").ValueKind);
        var hits = Search();
        Assert.Equal(5, hits.Length);
        Assert.All(hits, h => Assert.Equal("2.0.0", h.GetProperty("version").GetString()));

        // A fourth run has nothing to do; the old version is dropped only on request, and never the active one.
        Assert.Equal(0, Event(Run("reprocess", "--json", "--data", data, "--pack", v2), "summary").GetProperty("pending").GetInt64());
        Assert.Equal(2, Run("pack", "drop", "color-clip@2.0.0", "--data", data).ExitCode);
        Assert.Equal(n, Count(data, "SELECT COUNT(*) FROM embeddings WHERE pack = 'color-clip@1.0.0'"));
        Assert.Equal(n, Assert.Single(Run("pack", "drop", "color-clip@1.0.0", "--data", data, "--json").JsonLines()).GetProperty("dropped").GetInt64());
        Assert.Equal(["color-clip@2.0.0"], Run("pack", "list", "--data", data, "--json").JsonLines().Select(l => $"{l.GetProperty("pack").GetString()}@{l.GetProperty("version").GetString()}"));
        // Search from a fresh process after the drop: the snapshot written before it is stale and the index is rebuilt.
        Assert.All(CliRunner.Run("search", "--data", data, "--pack", v2, "--text", "red", "--k", "3", "--json").JsonLines()[0].GetProperty("results").EnumerateArray(),
            h => Assert.Equal("2.0.0", h.GetProperty("version").GetString()));
    }

    [Fact]
    public void Reprocess_refuses_a_missing_catalog_and_a_second_pack()
    {
        Assert.Equal(2, CliRunner.Run("reprocess", "--data", _tmp["none"], "--pack", Paths.ColorClip).ExitCode);
        var two = CliRunner.Run("reprocess", "--data", _tmp["none"], "--pack", Paths.ColorClip, "--pack", Paths.ColorClip);
        Assert.Equal(2, two.ExitCode);
        Assert.Contains("exactly one --pack", two.Stderr);
        Assert.Equal(2, CliRunner.Run("pack", "activate", "not-a-key", "--data", _tmp["none"]).ExitCode);
    }
}
