using Media.Application;
using Media.Catalog;
using Media.Contracts.V1;
using Media.Detection;
using Media.Domain;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;
using Media.Tests.Embeddings;
using Media.Workers;

namespace Media.Tests.Detection;

/// <summary>The <c>classifications</c> of a moderation policy: parsing, checking against loaded packs, flags and events.</summary>
public class ClassificationRuleTests
{
    static MediaEncoded Item(string pack, bool semantic, IReadOnlyDictionary<string, double>? classes) =>
        new(Guid.NewGuid(), Guid.Empty, "/x/a.png", new string('a', 64), false, "image", "png", 100, 10, 10, null, 0, null,
            [new PackEmbedding(pack, "1", "space", semantic, [1f, 0f], classes)]);

    static Dictionary<string, double> Classes(double drawing, double neutral) => new() { ["Drawing"] = drawing, ["Neutral"] = neutral };

    [Fact]
    public void Flags_each_rule_whose_label_reaches_its_threshold_in_its_own_pack()
    {
        var rule = new ClassificationRule([
            new ClassificationSpec("nsfw", "Drawing", 0.9, "review"),
            new ClassificationSpec("nsfw", "Neutral", 0.5, "allow"),
            new ClassificationSpec("other", "Drawing", 0.1, "block")]);

        var flags = rule.Evaluate(Item("nsfw", true, Classes(0.93, 0.05))).ToArray();
        var flag = Assert.Single(flags);
        Assert.Equal((FlagKind.Classification, "classifier:nsfw", "Drawing", 0.93, 0.9, "review"),
            (flag.Kind, flag.Method, flag.Label, flag.Score!.Value, flag.Threshold!.Value, flag.Action));

        Assert.Single(rule.Evaluate(Item("nsfw", true, Classes(0.9, 0.1))));             // at the threshold
        Assert.Empty(rule.Evaluate(Item("nsfw", true, Classes(0.8999, 0.1))));           // just below
        Assert.Equal(["Drawing", "Neutral"], rule.Evaluate(Item("nsfw", true, Classes(0.95, 0.6))).Select(f => f.Label!));
        Assert.Empty(rule.Evaluate(Item("nsfw", true, null)));                           // no classifier output
        Assert.Empty(rule.Evaluate(Item("nsfw", false, Classes(0.99, 0.9))));            // semantic: false is ignored ...
        Assert.Equal(2, new ClassificationRule(rule.Rules, allowNonSemantic: true).Evaluate(Item("nsfw", false, Classes(0.99, 0.9))).Count()); // ... unless allowed
    }

    [Fact]
    public void Policy_of_classifications_only_loads_and_bad_rules_are_named()
    {
        using var tmp = new TempDir();
        string Write(string json) { File.WriteAllText(tmp["p.json"], json); return tmp["p.json"]; }

        var policy = ConceptPolicy.Load(Write("""{"classifications": [{"pack": "nsfw-mobilenet-v2", "label": "Drawing", "threshold": 0.9}]}"""));
        Assert.Empty(policy.Concepts);
        var r = Assert.Single(policy.Classifications!);
        Assert.Equal(("nsfw-mobilenet-v2", "Drawing", 0.9, "review"), (r.Pack, r.Label, r.Threshold, r.Action));

        Assert.Contains("no concepts and no classifications", Assert.Throws<FormatException>(() => ConceptPolicy.Load(Write("{}"))).Message);
        Assert.Contains("classifications[0] ('Drawing' of 'n') threshold 1.5 is not a probability in (0, 1]",
            Assert.Throws<FormatException>(() => ConceptPolicy.Load(Write("""{"classifications": [{"pack": "n", "label": "Drawing", "threshold": 1.5}]}"""))).Message);
        Assert.Contains("threshold 0 is not a probability",
            Assert.Throws<FormatException>(() => ConceptPolicy.Load(Write("""{"classifications": [{"pack": "n", "label": "Drawing"}]}"""))).Message);
        Assert.Contains("classifications[1] has no pack",
            Assert.Throws<FormatException>(() => ConceptPolicy.Load(Write("""{"classifications": [{"pack": "n", "label": "a", "threshold": 0.5}, {"label": "Drawing", "threshold": 0.5}]}"""))).Message);
        Assert.Contains("classifications[0] ('Drawing' of 'n'): action label 'Block now!' is not 1-64 characters",
            Assert.Throws<FormatException>(() => ConceptPolicy.Load(Write("""{"classifications": [{"pack": "n", "label": "Drawing", "threshold": 0.5, "action": "Block now!"}]}"""))).Message);
        Assert.Contains("has no label",
            Assert.Throws<FormatException>(() => ConceptPolicy.Load(Write("""{"classifications": [{"pack": "n", "threshold": 0.5}]}"""))).Message);
    }

    [Fact]
    public void Rules_are_checked_against_the_loaded_packs()
    {
        using var nsfw = NsfwPipelineTests.LoadPack();
        using var color = ModelPack.Load(Paths.ColorClip, new OnnxSessionFactory(new SessionSettings { Device = ExecutionDevice.Cpu, IntraOpThreads = 1 }));
        ModelPack[] packs = [nsfw, color];
        ClassificationRule Check(string pack, string label, bool allow = false) =>
            PolicyRules.Classifications([new ClassificationSpec(pack, label, 0.9)], packs, allow, "policy.json");

        Assert.Equal("Drawing", Assert.Single(Check("nsfw-mobilenet-v2", "drawing").Rules).Label); // the pack's spelling
        Assert.Equal("policy.json: classification 'Drawing' names pack 'nsfw', which is not loaded (loaded: nsfw-mobilenet-v2, color-clip; give it with --pack DIR)",
            Assert.Throws<ArgumentException>(() => Check("nsfw", "Drawing")).Message);
        Assert.Equal("policy.json: pack 'nsfw-mobilenet-v2' has no label 'Cartoon' (its labels: Drawing, Hentai, Neutral, Porn, Sexy)",
            Assert.Throws<ArgumentException>(() => Check("nsfw-mobilenet-v2", "Cartoon")).Message);
        Assert.Contains("names pack 'color-clip', which has no classifier head",
            Assert.Throws<ArgumentException>(() => Check("color-clip", "red", allow: true)).Message);
    }

    [Fact]
    public void A_classification_flag_is_published_as_ClassificationMatched_with_its_label()
    {
        var flag = new CatalogFlag(FlagKind.Classification, "classifier:nsfw-mobilenet-v2", Threshold: 0.9, Score: 0.97, Label: "Drawing", Action: "review");
        var record = new SubmissionRecord(Guid.NewGuid(), Guid.NewGuid(), new string('b', 64), "/x/d.png", "image", SubmissionStatus.Indexed,
            [flag, new CatalogFlag(FlagKind.Concept, "embedding:p", Threshold: 0.2, Score: 0.3, Label: "weapons", Action: "block")]);
        var events = record.Events().ToArray();
        var matched = Assert.IsType<ClassificationMatched>(events[0]);
        Assert.Equal(("classification", "Drawing", null, 0.97, 0.9, "review"),
            (matched.Flag.Kind, matched.Flag.Label, matched.Flag.Concept, matched.Flag.Score, matched.Flag.Threshold, matched.Flag.Action));
        Assert.Equal((record.MediaId, record.Path), (matched.MediaId, matched.Path));
        Assert.Equal("weapons", Assert.IsType<ConceptMatched>(events[1]).Flag.Concept); // concept flags keep their field
        Assert.Equal(FlagKind.Classification, FlagKinds.Parse(FlagKind.Classification.Name()));
    }

    [Fact]
    public void Class_probabilities_and_the_label_survive_the_bus_serializer()
    {
        // MassTransit's System.Text.Json options, as MediaEncoded and MediaProcessed travel between encode and detect nodes.
        var options = MassTransit.Serialization.SystemTextJsonMessageSerializer.Options;
        var item = Item("nsfw-mobilenet-v2", true, Classes(0.97, 0.02));
        var back = System.Text.Json.JsonSerializer.Deserialize<MediaEncoded>(System.Text.Json.JsonSerializer.Serialize(item, options), options)!;
        Assert.Equal(item.Embeddings[0].Classification, back.Embeddings[0].Classification);
        Assert.Null(System.Text.Json.JsonSerializer.Deserialize<MediaEncoded>(System.Text.Json.JsonSerializer.Serialize(Item("p", true, null), options), options)!.Embeddings[0].Classification);
        var flag = new MediaFlag("classification", "classifier:nsfw-mobilenet-v2", Threshold: 0.95, Score: 0.97, Action: "review", Label: "Drawing");
        Assert.Equal(flag, System.Text.Json.JsonSerializer.Deserialize<MediaFlag>(System.Text.Json.JsonSerializer.Serialize(flag, options), options));
    }
}
