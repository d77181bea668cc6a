using Media.Catalog;
using Media.Contracts.V1;
using Media.Detection;
using Media.Domain;
using Microsoft.Extensions.Configuration;

namespace Media.Tests.Detection;

public class ActionPolicyTests
{
    static CatalogFlag Concept(string? action) => new(FlagKind.Concept, "embedding:p", Score: 0.9, Threshold: 0.5, Label: "c", Action: action);
    static readonly CatalogFlag Near = new(FlagKind.NearDuplicate, "pdq", "x", "/x.jpg", 3, 31);
    static readonly CatalogFlag Anomaly = new(FlagKind.Anomaly, "knn:p", Score: 0.4, Threshold: 0.3);

    [Fact]
    public void Block_beats_review_beats_allow_whatever_the_flag_order()
    {
        var policy = new ActionPolicy();
        CatalogFlag[] flags = [Concept("review"), Concept("allow"), Concept("block")];
        foreach (var order in new[] { flags, flags.Reverse().ToArray(), [flags[1], flags[2], flags[0]] })
            Assert.Equal("block", policy.Resolve(order));
        Assert.Equal("review", policy.Resolve([Concept("allow"), Concept("Review ")]));   // compared case-insensitively, reported lower-case
        Assert.Equal("allow", policy.Resolve([Concept("allow")]));
    }

    [Fact]
    public void A_configured_precedence_replaces_the_default_order()
    {
        var policy = new ActionPolicy { Precedence = ["review", "block", "allow"] }.Validated();
        Assert.Equal("review", policy.Resolve([Concept("block"), Concept("review")]));
    }

    [Fact]
    public void Unlisted_labels_rank_where_the_star_stands_or_after_the_first_entry()
    {
        var byDefault = new ActionPolicy();   // block > * > review > allow
        Assert.Equal("quarantine", byDefault.Resolve([Concept("review"), Concept("quarantine")]));
        Assert.Equal("block", byDefault.Resolve([Concept("quarantine"), Concept("block")]));
        // Two unlisted labels: by ordinal name, so flag order never matters.
        Assert.Equal("escalate", byDefault.Resolve([Concept("quarantine"), Concept("escalate")]));
        Assert.Equal("escalate", byDefault.Resolve([Concept("escalate"), Concept("quarantine")]));

        var noStar = new ActionPolicy { Precedence = ["takedown", "review", "allow"] }.Validated();
        Assert.Equal("takedown", noStar.Resolve([Concept("block"), Concept("takedown")]));
        Assert.Equal("block", noStar.Resolve([Concept("block"), Concept("review")]));
        Assert.Equal(["takedown", "*", "review", "allow"], noStar.Order());

        var starLast = new ActionPolicy { Precedence = ["block", "review", "allow", "*"] }.Validated();
        Assert.Equal("allow", starLast.Resolve([Concept("tag"), Concept("allow")]));
    }

    [Fact]
    public void Flags_without_an_action_take_their_kind_default_and_none_means_no_action()
    {
        var plain = new ActionPolicy();
        Assert.Null(plain.Resolve([Near, Anomaly]));
        Assert.Null(plain.Resolve([]));
        Assert.Null(plain.Resolve([Concept("none"), Concept("  ")]));

        var configured = new ActionPolicy { Defaults = new(StringComparer.OrdinalIgnoreCase) { ["near_duplicate"] = "review", ["anomaly"] = "none" } }.Validated();
        Assert.Equal("review", configured.Resolve([Near, Anomaly]));
        Assert.Null(configured.Resolve([Anomaly]));
        Assert.Equal("allow", configured.ActionOf(Concept("allow") with { Kind = FlagKind.NearDuplicate }));  // a flag's own action wins over its kind default
        Assert.Equal("block", configured.Resolve([Near, Concept("block")]));
    }

    [Fact]
    public void Configuration_binds_from_Media_Actions_and_bad_values_are_refused_with_the_key()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Media:Actions:Precedence:0"] = "block", ["Media:Actions:Precedence:1"] = "review",
            ["Media:Actions:Defaults:exact_duplicate"] = "review",
        }).Build();
        var bound = config.GetSection("Media:Actions").Get<ActionPolicy>()!.Validated();
        Assert.Equal(["block", "*", "review"], bound.Order());
        Assert.Equal("review", bound.Resolve([new CatalogFlag(FlagKind.ExactDuplicate, "sha256", "x", "/x", 0, 0)]));

        Assert.Contains("Precedence:1", Assert.Throws<FormatException>(() => new ActionPolicy { Precedence = ["block", "no way"] }.Validated()).Message);
        Assert.Contains("'none'", Assert.Throws<FormatException>(() => new ActionPolicy { Precedence = ["block", "none"] }.Validated()).Message);
        Assert.Contains("twice", Assert.Throws<FormatException>(() => new ActionPolicy { Precedence = ["block", "Block"] }.Validated()).Message);
        Assert.Contains("empty", Assert.Throws<FormatException>(() => new ActionPolicy { Precedence = [] }.Validated()).Message);
        var kind = Assert.Throws<FormatException>(() => new ActionPolicy { Defaults = new() { ["near_dupe"] = "review" } }.Validated());
        Assert.Contains("Media:Actions:Defaults:near_dupe", kind.Message);
        Assert.Contains("near_duplicate", kind.Message);
    }

    [Fact]
    public void The_detector_resolves_the_action_for_new_and_redelivered_submissions()
    {
        using var tmp = new TempDir();
        using var catalog = SqliteCatalog.Open(tmp.Path);
        var store = new IndexedCatalog(catalog);
        var rule = new FixedFlags([Concept("review"), Concept("block")]);
        var detector = new DuplicateDetector(store, new DetectionPolicy(), [rule]);
        MediaEncoded Item(char sha, Guid submission) =>
            new(submission, Guid.Empty, $"/{sha}.jpg", new string(sha, 64), false, "image", "jpeg", 10, 1, 1, null, 0, null, []);

        var submission = Guid.NewGuid();
        Assert.Equal("block", detector.Process(Item('a', submission)).Action);
        rule.Flags = [];
        Assert.Equal("block", detector.Process(Item('a', submission)).Action);   // redelivered: the stored flags, resolved again
        Assert.Null(detector.Process(Item('b', Guid.NewGuid())).Action);

        var strict = new DuplicateDetector(store, new DetectionPolicy { Actions = new ActionPolicy { Defaults = new() { ["exact_duplicate"] = "review" } } });
        var dup = strict.Process(Item('a', Guid.NewGuid()));
        Assert.Equal((SubmissionStatus.Duplicate, "review"), (dup.Status, dup.Action));
        Assert.Null(strict.Process(Item('c', Guid.NewGuid()) with { Error = "corrupt" }).Action);
    }

    sealed class FixedFlags(CatalogFlag[] flags) : IFlagRule
    {
        public CatalogFlag[] Flags { get; set; } = flags;
        public IEnumerable<CatalogFlag> Evaluate(MediaEncoded item) => Flags;
    }
}
