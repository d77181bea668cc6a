using System.Text.Json;

namespace Media.Tests.Cli;

/// <summary>Anomalies, concept policies and <c>media evaluate</c> through the real executable.</summary>
public class ModerationCliTests
{
    /// <summary>60 distinct reddish noisy images, two blue ones and a green one, made with ffmpeg.</summary>
    static string Population(TempDir tmp)
    {
        var dir = tmp["in"];
        Directory.CreateDirectory(dir);
        var rng = new Random(5);
        for (var i = 0; i < 60; i++)
        {
            var colour = $"0x{170 + rng.Next(70):X2}{10 + rng.Next(50):X2}{10 + rng.Next(50):X2}";
            Ffmpeg.Run("-f", "lavfi", "-i", $"color=c={colour}:s=96x72,noise=alls={10 + rng.Next(20)}:allf=t", "-frames:v", "1", Path.Combine(dir, $"a-red-{i:D2}.png"));
        }
        Ffmpeg.Run("-f", "lavfi", "-i", "color=c=0x2040D0:s=96x72,noise=alls=15:allf=t", "-frames:v", "1", Path.Combine(dir, "z-blue-1.png"));
        Ffmpeg.Run("-f", "lavfi", "-i", "color=c=0x1830B8:s=120x90,noise=alls=25:allf=t", "-frames:v", "1", Path.Combine(dir, "z-blue-2.png"));
        Ffmpeg.Run("-f", "lavfi", "-i", "color=c=0x30B040:s=96x72,noise=alls=15:allf=t", "-frames:v", "1", Path.Combine(dir, "z-green.png"));
        File.WriteAllText(tmp["policy.json"], """
            {"concepts": [{"name": "blue", "prompts": ["a blue picture", "something blue"], "examples": [], "threshold": 0.8, "action": "review"},
                          {"name": "leaf", "prompts": ["green"], "examples": ["in/z-green.png"], "threshold": 0.9, "action": "block"}]}
            """);
        return dir;
    }

    static JsonElement[] Flags(JsonElement line, string kind) => line.GetProperty("flags").EnumerateArray().Where(f => f.GetProperty("kind").GetString() == kind).ToArray();

    [Fact]
    public void Odd_ones_out_are_anomalies_and_the_policy_flags_what_it_names()
    {
        using var tmp = new TempDir();
        var input = Population(tmp);
        var r = CliRunner.Run("ingest", "--data", tmp["data"], "--pack", Paths.ColorClip, "--allow-nonsemantic", "--policy", tmp["policy.json"], "--json", input);
        Assert.Equal(0, r.ExitCode);
        var lines = r.JsonLines().ToDictionary(l => Path.GetFileName(l.GetProperty("path").GetString()!));
        Assert.Equal(63, lines.Count);

        foreach (var odd in new[] { "z-blue-1.png", "z-blue-2.png", "z-green.png" })
        {
            var a = Assert.Single(Flags(lines[odd], "anomaly"));
            Assert.Equal("knn:color-clip", a.GetProperty("method").GetString());
            Assert.True(a.GetProperty("score").GetDouble() > a.GetProperty("threshold").GetDouble());
        }
        var falseAlarms = lines.Where(l => l.Key.StartsWith("a-red") && Flags(l.Value, "anomaly").Length > 0).Select(l => l.Key).ToArray();
        Assert.True(falseAlarms.Length <= 1, "false alarms: " + string.Join(", ", falseAlarms));

        foreach (var blue in new[] { "z-blue-1.png", "z-blue-2.png" })
        {
            var c = Assert.Single(Flags(lines[blue], "concept"));
            Assert.Equal(("blue", "review", "embedding:color-clip", 0.8), (c.GetProperty("concept").GetString(), c.GetProperty("action").GetString(), c.GetProperty("method").GetString(), c.GetProperty("threshold").GetDouble()));
            Assert.True(c.GetProperty("score").GetDouble() >= 0.8);
        }
        Assert.Equal("leaf", Assert.Single(Flags(lines["z-green.png"], "concept")).GetProperty("concept").GetString());
        Assert.Equal("block", Flags(lines["z-green.png"], "concept")[0].GetProperty("action").GetString());
        Assert.All(lines.Where(l => l.Key.StartsWith("a-red")), l => Assert.Empty(Flags(l.Value, "concept")));
    }

    [Fact]
    public void Non_semantic_packs_give_no_anomalies_and_refuse_policies_unless_allowed()
    {
        using var tmp = new TempDir();
        var input = Population(tmp);
        var r = CliRunner.Run("ingest", "--data", tmp["data"], "--pack", Paths.ColorClip, "--json", input);
        Assert.Equal(0, r.ExitCode);
        Assert.All(r.JsonLines(), l => Assert.Empty(Flags(l, "anomaly")));

        var refused = CliRunner.Run("ingest", "--data", tmp["data2"], "--pack", Paths.ColorClip, "--policy", tmp["policy.json"], "--json", input);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("semantic: false", refused.Stderr);
    }

    [Fact]
    public void Evaluate_reports_figures_that_match_a_hand_count()
    {
        using var tmp = new TempDir();
        var pdq = Path.Combine(Paths.Shared, "pdq", "images");
        var photos = tmp["photos"];
        Directory.CreateDirectory(photos);
        foreach (var f in new[] { "bridge-mods/aaa-orig.jpg", "bridge-mods/blur-a-lot.jpg", "dih/bridge-2-rotate-90.jpg", "labelme-subset/q0003.jpg", "labelme-subset/q0122.jpg", "labelme-subset/q2821.jpg" })
            File.Copy(Path.Combine(pdq, f), Path.Combine(photos, Path.GetFileName(f)));
        Assert.Equal(0, CliRunner.Run("ingest", "--data", tmp["data"], "--json", photos).ExitCode);
        // Labels as a user might give them: two true duplicates (a blur, a rotation), one pair wrongly labelled a
        // duplicate (two different photos), two true non-duplicates.
        File.WriteAllText(tmp["truth.json"], """
            {"pairs": [
              {"a": "photos/aaa-orig.jpg", "b": "photos/blur-a-lot.jpg", "duplicate": true},
              {"a": "photos/aaa-orig.jpg", "b": "photos/bridge-2-rotate-90.jpg", "duplicate": true},
              {"a": "photos/q0122.jpg", "b": "photos/q2821.jpg", "duplicate": true},
              {"a": "photos/aaa-orig.jpg", "b": "photos/q0122.jpg", "duplicate": false},
              {"a": "photos/aaa-orig.jpg", "b": "photos/q2821.jpg", "duplicate": false}]}
            """);
        var r = CliRunner.Run("evaluate", "--data", tmp["data"], "--truth", tmp["truth.json"], "--json");
        Assert.Equal(0, r.ExitCode);
        var line = Assert.Single(r.JsonLines());
        Assert.Equal(("duplicate", "pdq", 5, 3), (line.GetProperty("task").GetString(), line.GetProperty("method").GetString(), line.GetProperty("n").GetInt32(), line.GetProperty("positives").GetInt32()));
        // At 31 bits: both real copies match (TP 2), the mislabelled pair does not (FN 1), no false alarm (TN 2).
        Assert.Equal((2, 0, 1, 2), (line.GetProperty("truePositives").GetInt32(), line.GetProperty("falsePositives").GetInt32(),
            line.GetProperty("falseNegatives").GetInt32(), line.GetProperty("trueNegatives").GetInt32()));
        Assert.Equal(1.0, line.GetProperty("precision").GetDouble());
        Assert.Equal(2.0 / 3, line.GetProperty("recall").GetDouble(), 10);
        Assert.Equal(0.8, line.GetProperty("f1").GetDouble(), 10);
        Assert.Equal(31, line.GetProperty("threshold").GetDouble());
    }
}
