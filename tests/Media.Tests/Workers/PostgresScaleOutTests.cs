using System.Diagnostics;
using System.Text.Json;
using Media.Tests.Catalog;

namespace Media.Tests.Workers;

/// <summary>A broker and a PostgreSQL cluster of their own for the scale-out tests.</summary>
[CollectionDefinition("scale-out")]
public sealed class ScaleOutCollection : ICollectionFixture<RabbitMqFixture>, ICollectionFixture<PostgresFixture>;

/// <summary>
/// Many nodes on one shared catalog, as separate <c>media serve</c> processes on a real broker and a real PostgreSQL
/// with pgvector: 2 encode, 2 detect and 2 query workers (README, "Scale-out on PostgreSQL").
/// </summary>
[Collection("scale-out")]
public sealed class PostgresScaleOutTests(RabbitMqFixture broker, PostgresFixture pg) : IDisposable
{
    readonly TempDir _tmp = new();
    readonly List<WorkerProcess> _workers = [];

    WorkerProcess Worker(string name, string catalog, params string[] args)
    {
        var w = new WorkerProcess(_tmp[$"{name}.log"], [.. args, "--transport", "rabbitmq", "--rabbitmq", broker.Uri, "--catalog", catalog, "--pack", Paths.ColorClip]);
        _workers.Add(w);
        return w;
    }

    /// <summary>
    /// <paramref name="singles"/> unrelated images and <paramref name="pairs"/> pairs of an image and its edited copy
    /// (shrunk, brightened, re-encoded: PDQ distance ≈ 2–6 bits), named so each pair sorts together and is submitted
    /// together. Each image is 16×16 random colours scaled up smoothly to 512×512: unrelated images are ≈ 128 bits apart.
    /// </summary>
    string Images(int singles, int pairs)
    {
        var src = _tmp["src"];
        var dir = _tmp["input"];
        Directory.CreateDirectory(src);
        Directory.CreateDirectory(dir);
        var rng = new Random(2026);
        for (var i = 0; i < singles + pairs; i++)
        {
            var pixels = new byte[16 * 16 * 3];
            rng.NextBytes(pixels);
            File.WriteAllBytes(Path.Combine(src, $"{i:D3}.ppm"), [.. "P6\n16 16\n255\n"u8, .. pixels]);
        }
        Ffmpeg.Run("-start_number", "0", "-i", Path.Combine(src, "%03d.ppm"), "-vf", "scale=512:512:flags=bicubic", "-q:v", "3", "-start_number", "0", Path.Combine(src, "%03d.jpg"));
        Ffmpeg.Run("-start_number", "0", "-i", Path.Combine(src, "%03d.jpg"), "-vf", "scale=440:440,eq=brightness=0.04", "-q:v", "12", "-start_number", "0", Path.Combine(src, "copy-%03d.jpg"));
        for (var i = 0; i < singles; i++) File.Move(Path.Combine(src, $"{i:D3}.jpg"), Path.Combine(dir, $"single-{i:D3}.jpg"));
        for (var p = 0; p < pairs; p++)
        {
            File.Move(Path.Combine(src, $"{singles + p:D3}.jpg"), Path.Combine(dir, $"pair-{p:D2}-a.jpg"));
            File.Move(Path.Combine(src, $"copy-{singles + p:D3}.jpg"), Path.Combine(dir, $"pair-{p:D2}-b.jpg"));
        }
        return dir;
    }

    (int Code, List<JsonElement> Lines, string Stderr) Ingest(string input, string catalog, Action<int> onLine) =>
        CliRunner.RunJsonLines(["ingest", "--json", "--transport", "rabbitmq", "--rabbitmq", broker.Uri, "--catalog", catalog, input], TimeSpan.FromMinutes(6), onLine);

    /// <summary>Searches until each of <paramref name="nodes"/> query nodes has answered; returns the answers by node.</summary>
    Dictionary<string, string> SearchOnEveryNode(string text, int nodes)
    {
        var answers = new Dictionary<string, string>();
        for (var attempt = 0; attempt < 40 && answers.Count < nodes; attempt++)
        {
            var r = CliRunner.Run("search", "--json", "--text", text, "--k", "10", "--transport", "rabbitmq", "--rabbitmq", broker.Uri, "--pack", Paths.ColorClip);
            Assert.True(r.ExitCode == 0, r.Stderr);
            var line = r.JsonLines()[0];
            answers.TryAdd(line.GetProperty("node").GetString()!, line.GetProperty("results").GetRawText());
        }
        return answers;
    }

    [Fact]
    public void Two_encode_two_detect_two_query_nodes_300_items_with_20_simultaneous_pairs_and_a_detect_node_killed()
    {
        var input = Images(singles: 260, pairs: 20);
        var catalog = pg.NewDatabase();
        Worker("encode-1", catalog, "--role", "encode");
        Worker("encode-2", catalog, "--role", "encode");
        var doomed = Worker("detect-1", catalog, "--role", "detect");
        var survivor = Worker("detect-2", catalog, "--role", "detect");
        Worker("query-1", catalog, "--role", "query");
        Worker("query-2", catalog, "--role", "query");

        var killedAt = -1;
        var r = Ingest(input, catalog, n =>
        {
            if (n == 60 && killedAt < 0) { doomed.Kill(); killedAt = n; }
        });

        Assert.True(r.Code == 0, r.Stderr);
        Assert.Equal(60, killedAt);
        Assert.True(doomed.HasExited);
        Assert.False(survivor.HasExited);
        // 300 results, one per file, all different bytes, none lost to the kill.
        Assert.Equal(300, r.Lines.Count);
        Assert.Equal(300, r.Lines.Select(l => l.GetProperty("path").GetString()).Distinct().Count());
        Assert.Equal(300, r.Lines.Select(l => l.GetProperty("id").GetString()).Distinct().Count());
        Assert.All(r.Lines, l => Assert.Equal("indexed", l.GetProperty("status").GetString()));
        // The catalog counts exactly the indexed items (no row twice, none missing).
        var stats = CliRunner.Run("stats", "--catalog", catalog, "--json");
        Assert.True(stats.ExitCode == 0, stats.Stderr);
        Assert.Equal(300, stats.JsonLines()[0].GetProperty("items").GetInt64());
        Assert.DoesNotContain(":media@", stats.Stdout + stats.Stderr);

        // Each pair: exactly one copy is flagged as the near-duplicate of the other; nothing else is flagged.
        var byName = r.Lines.ToDictionary(l => Path.GetFileName(l.GetProperty("path").GetString()!));
        string[] NearOf(JsonElement line) => [.. line.GetProperty("flags").EnumerateArray()
            .Where(f => f.GetProperty("kind").GetString() == "near_duplicate").Select(f => f.GetProperty("of").GetString()!)];
        for (var p = 0; p < 20; p++)
        {
            var a = byName[$"pair-{p:D2}-a.jpg"];
            var b = byName[$"pair-{p:D2}-b.jpg"];
            var flagged = new[] { NearOf(a), NearOf(b) };
            Assert.True((flagged[0].Length, flagged[1].Length) is (1, 0) or (0, 1), $"pair {p}: {a} / {b}");
            Assert.Equal(flagged[0].Length == 1 ? b.GetProperty("id").GetString() : a.GetProperty("id").GetString(), flagged.Single(f => f.Length == 1)[0]);
        }
        Assert.Equal(20, r.Lines.Sum(l => NearOf(l).Length));
        Assert.Equal(20, stats.JsonLines()[0].GetProperty("flags").GetProperty("near_duplicate").GetInt64());

        // Both query nodes answer, from the shared catalog, with the same top results.
        var answers = SearchOnEveryNode("red", 2);
        Assert.Equal(2, answers.Count);
        Assert.Single(answers.Values.Distinct());
        Assert.Equal(10, JsonDocument.Parse(answers.Values.First()).RootElement.GetArrayLength());
    }

    [Fact]
    public void A_postgres_restart_mid_run_is_retried_and_nothing_is_lost_or_doubled()
    {
        var input = Images(singles: 110, pairs: 5);
        var catalog = pg.NewDatabase();
        Worker("encode", catalog, "--role", "encode");
        Worker("detect-1", catalog, "--role", "detect");
        Worker("detect-2", catalog, "--role", "detect");
        var query = Worker("query", catalog, "--role", "query");

        var restarted = false;
        var r = Ingest(input, catalog, n =>
        {
            if (n == 30 && !restarted) { restarted = true; pg.Restart(); }
        });

        Assert.True(restarted);
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Equal(120, r.Lines.Count);
        Assert.Equal(120, r.Lines.Select(l => l.GetProperty("path").GetString()).Distinct().Count());
        Assert.All(r.Lines, l => Assert.Equal("indexed", l.GetProperty("status").GetString()));
        var stats = CliRunner.Run("stats", "--catalog", catalog, "--json").JsonLines()[0];
        Assert.Equal(120, stats.GetProperty("items").GetInt64());
        Assert.Equal(5, stats.GetProperty("flags").GetProperty("near_duplicate").GetInt64());
        Assert.Equal(10, JsonDocument.Parse(SearchOnEveryNode("blue", 1).Values.Single()).RootElement.GetArrayLength());
        Assert.False(query.HasExited);
    }

    public void Dispose()
    {
        foreach (var w in _workers) w.Dispose();
        _tmp.Dispose();
    }
}
