using System.Text.Json;

namespace Media.Tests.Cli;

/// <summary>The real nsfw pack through the real executable: class probabilities, classification flags and the text-tower error.</summary>
public class ClassificationCliTests
{
    static string Nsfw => Path.Combine(Paths.RepoRoot, "models", "nsfw-mobilenet-v2");
    static string Drawings => Path.Combine(Paths.RepoRoot, "tests", "Media.Tests", "Fixtures", "drawings");
    static string PdqImages => Path.Combine(Paths.Shared, "pdq", "images");

    static JsonElement[] Flags(JsonElement line, string kind) =>
        line.GetProperty("flags").EnumerateArray().Where(f => f.GetProperty("kind").GetString() == kind).ToArray();

    [Fact]
    public void A_Drawing_rule_flags_the_rendered_drawings_and_no_photograph()
    {
        Embeddings.NsfwPipelineTests.LoadPack().Dispose(); // "run make packs" when the model is missing
        using var tmp = new TempDir();
        var input = tmp["in"];
        Directory.CreateDirectory(input);
        foreach (var dir in new[] { "bridge-mods", "dih", "labelme-subset" })
            foreach (var f in Directory.GetFiles(Path.Combine(PdqImages, dir))) File.Copy(f, Path.Combine(input, $"{dir}-{Path.GetFileName(f)}"));
        foreach (var f in Directory.GetFiles(Drawings, "*.png")) File.Copy(f, Path.Combine(input, "zz-" + Path.GetFileName(f)));
        File.WriteAllText(tmp["policy.json"], """{"classifications": [{"pack": "nsfw-mobilenet-v2", "label": "drawing", "threshold": 0.95, "action": "review"}]}""");

        var r = CliRunner.Run("ingest", "--data", tmp["data"], "--pack", Nsfw, "--policy", tmp["policy.json"], "--json", input);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.JsonLines().ToDictionary(l => Path.GetFileName(l.GetProperty("path").GetString()!));
        Assert.Equal(27 + 2, lines.Count);
        foreach (var (name, line) in lines)
        {
            var flags = Flags(line, "classification");
            if (name.StartsWith("zz-cartoon"))
            {
                var f = Assert.Single(flags);
                Assert.Equal(("Drawing", "review", "classifier:nsfw-mobilenet-v2", 0.95),
                    (f.GetProperty("label").GetString(), f.GetProperty("action").GetString(), f.GetProperty("method").GetString(), f.GetProperty("threshold").GetDouble()));
                Assert.InRange(f.GetProperty("score").GetDouble(), 0.95, 1.0);
                Assert.Equal("review", line.GetProperty("action").GetString()); // the item's resolved action (README "Actions and webhooks")
            }
            else Assert.True(flags.Length == 0, $"photograph {name} got a classification flag: {string.Join(", ", flags)}");
        }
        var stats = Assert.Single(CliRunner.Run("stats", "--data", tmp["data"], "--json").JsonLines());
        Assert.Equal(2, stats.GetProperty("flags").GetProperty("classification").GetInt64());

        var wrong = tmp["wrong.json"];
        File.WriteAllText(wrong, """{"classifications": [{"pack": "nsfw-mobilenet-v2", "label": "Cartoon", "threshold": 0.9}]}""");
        var refused = CliRunner.Run("ingest", "--data", tmp["data2"], "--pack", Nsfw, "--policy", wrong, "--json", input);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("pack 'nsfw-mobilenet-v2' has no label 'Cartoon' (its labels: Drawing, Hentai, Neutral, Porn, Sexy)", refused.Stderr);
    }

    [Fact]
    public void Embed_json_reports_the_class_probabilities_and_text_is_refused_plainly()
    {
        Embeddings.NsfwPipelineTests.LoadPack().Dispose();
        var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(Paths.RepoRoot, "tests", "Media.Tests", "Fixtures", "nsfw", "pipeline.json"))).RootElement;
        var girl = reference.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("id").GetString() == "cartoon-girl-sky");
        var r = CliRunner.Run("embed", "--pack", Nsfw, "--json", "--image", Path.Combine(Drawings, "cartoon-girl-sky.png"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var line = Assert.Single(r.JsonLines());
        Assert.Equal(1280, line.GetProperty("dim").GetInt32());
        var classes = line.GetProperty("classification").EnumerateObject().ToArray();
        Assert.Equal(["Drawing", "Hentai", "Neutral", "Porn", "Sexy"], classes.Select(c => c.Name));
        var nsfwjs = girl.GetProperty("probs").EnumerateArray().Select(p => p.GetDouble()).ToArray();
        for (var i = 0; i < 5; i++) Assert.Equal(nsfwjs[i], classes[i].Value.GetDouble(), 1e-5);

        using var tmp = new TempDir();
        var text = CliRunner.Run("embed", "--pack", Nsfw, "--text", "a drawing");
        Assert.Equal(2, text.ExitCode);
        Assert.Contains("pack nsfw-mobilenet-v2 has no text tower; it cannot embed text", text.Stderr);
        Assert.Equal(0, CliRunner.Run("ingest", "--data", tmp["data"], "--pack", Nsfw, "--json", Drawings).ExitCode);
        var search = CliRunner.Run("search", "--data", tmp["data"], "--pack", Nsfw, "--text", "a drawing");
        Assert.Equal(2, search.ExitCode);
        Assert.Contains("pack nsfw-mobilenet-v2 has no text tower; it cannot embed text", search.Stderr);
        var byImage = CliRunner.Run("search", "--data", tmp["data"], "--pack", Nsfw, "--json", "--image", Path.Combine(Drawings, "cartoon-girl-sky.png"));
        Assert.True(byImage.ExitCode == 0, byImage.Stderr);
        var hits = Assert.Single(byImage.JsonLines()).GetProperty("results").EnumerateArray().ToArray();
        Assert.EndsWith("cartoon-girl-sky.png", hits[0].GetProperty("path").GetString());
        Assert.Equal(1.0, hits[0].GetProperty("score").GetDouble(), 5);
    }
}
