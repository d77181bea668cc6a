using System.Numerics.Tensors;
using System.Security.Cryptography;
using System.Text.Json;
using Media.Catalog;
using Media.Domain;
using Media.Hashing;
using Media.Index;

namespace Media.Detection;

/// <summary>A labelled pair: are <paramref name="A"/> and <paramref name="B"/> duplicates?</summary>
public sealed record TruthPair(string A, string B, bool Duplicate);

/// <summary>A labelled item: <c>anomaly</c> true/false, or <c>concept</c> named and <c>match</c> true/false.</summary>
public sealed record TruthItem(string Media, bool? Anomaly = null, string? Concept = null, bool? Match = null);

/// <summary>The truth file of <c>media evaluate</c>: <c>{"pairs": [...], "items": [...]}</c>; media by path (relative to the file) or id.</summary>
public sealed record TruthFile(TruthPair[]? Pairs, TruthItem[]? Items)
{
    static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <exception cref="FormatException">Unreadable or invalid.</exception>
    public static TruthFile Load(string path)
    {
        try
        {
            var truth = JsonSerializer.Deserialize<TruthFile>(File.ReadAllText(path), Json) ?? throw new FormatException($"{path}: empty");
            if ((truth.Pairs?.Length ?? 0) + (truth.Items?.Length ?? 0) == 0) throw new FormatException($"{path}: no pairs and no items");
            return truth;
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{path}: {ex.Message}", ex);
        }
    }
}

/// <summary>
/// Scores labelled data with the configured methods, from what the catalog holds (hashes, embeddings, population):
/// duplicate pairs by PDQ (minimum Hamming distance over the dihedral hashes; a pair below the quality minimum never
/// matches) and by cosine distance per pack; anomaly items by the leave-one-out k-NN score against the calibrated
/// quantile threshold; concept items by similarity to the policy's concepts. Reports precision, recall and F1 at the
/// configured thresholds, ROC AUC, and the threshold reaching a target precision — how a user tunes thresholds on
/// their own catalogue.
/// </summary>
public sealed class TruthEvaluator(IndexedCatalog store, DetectionPolicy policy, ConceptRule? concepts, bool allowNonSemantic)
{
    /// <summary>References that matched no catalogued media.</summary>
    public List<string> Unresolved { get; } = [];

    public List<MethodReport> Evaluate(TruthFile truth, string baseDirectory, double targetPrecision)
    {
        var reports = new List<MethodReport>();
        var pairs = (truth.Pairs ?? []).Select(p => (A: Resolve(p.A, baseDirectory), B: Resolve(p.B, baseDirectory), p.Duplicate))
            .Where(p => p.A is not null && p.B is not null).Select(p => (A: p.A!, B: p.B!, p.Duplicate)).ToArray();
        if (pairs.Length > 0)
        {
            var rules = policy.Image;
            var pdq = pairs.Where(p => p.A.Pdq is not null && p.B.Pdq is not null).Select(p =>
            {
                var lowQuality = p.A.PdqQuality < rules.PdqMinQuality || p.B.PdqQuality < rules.PdqMinQuality;
                var a = PdqHash.FromBytes(p.A.Pdq!);
                var distance = lowQuality ? PdqHash.Bits : (p.B.PdqDihedral ?? p.B.Pdq!).Chunk(32).Min(h => PdqHash.FromBytes(h).HammingDistance(a));
                return new Scored(-distance, p.Duplicate);
            }).ToArray();
            if (pdq.Length > 0) reports.Add(Evaluation.Report("duplicate", "pdq", pdq, -rules.PdqMaxDistance, true, targetPrecision, s => 0.0 - s));

            foreach (var space in store.Spaces.Where(s => s.Semantic || allowNonSemantic))
            {
                var pack = space.Pack.Name;
                var data = pairs.Select(p => (p, a: VectorOf(space.Index, p.A), b: VectorOf(space.Index, p.B))).Where(x => x.a is not null && x.b is not null)
                    .Select(x => new Scored(-(1.0 - TensorPrimitives.Dot(x.a, x.b)), x.p.Duplicate)).ToArray();
                var t = rules.CosineThreshold(pack);
                if (data.Length > 0) reports.Add(Evaluation.Report("duplicate", FlagMethods.Embedding(pack), data, -t, true, targetPrecision, s => Math.Round(0.0 - s, 6)));
            }
        }

        var items = (truth.Items ?? []).Select(i => (Media: Resolve(i.Media, baseDirectory), Label: i)).Where(i => i.Media is not null).ToArray();
        var anomalyItems = items.Where(i => i.Label.Anomaly is not null).ToArray();
        if (anomalyItems.Length > 0)
        {
            var rule = new AnomalyRule(store, policy.Anomaly with { AllowNonSemantic = allowNonSemantic || policy.Anomaly.AllowNonSemantic });
            foreach (var space in store.Spaces.Where(s => s.Semantic || rule.Options.AllowNonSemantic))
            {
                var index = space.Index;
                var threshold = AnomalyRule.Quantile(rule.PopulationScores(index, null), rule.Options.Quantile);
                var data = anomalyItems.Select(i => (i, v: VectorOf(index, i.Media!))).Where(x => x.v is not null)
                    .Select(x => new Scored(rule.Score(index, x.v, null, exclude: x.i.Media!.Seq), x.i.Label.Anomaly!.Value)).ToArray();
                if (data.Length > 0) reports.Add(Evaluation.Report("anomaly", FlagMethods.Knn(space.Pack.Name), data, threshold, false, targetPrecision, s => Math.Round(s, 6)));
            }
        }

        var conceptItems = items.Where(i => i.Label.Concept is not null).ToArray();
        if (conceptItems.Length > 0)
        {
            if (concepts is null) throw new ArgumentException("the truth file labels concepts: give --policy and --pack");
            foreach (var space in store.Spaces)
            {
                var pack = space.Pack.Name;
                foreach (var group in conceptItems.GroupBy(i => i.Label.Concept!))
                {
                    double? threshold = null;
                    var data = new List<Scored>();
                    foreach (var (media, label) in group)
                    {
                        if (VectorOf(space.Index, media!) is not { } vector) continue;
                        foreach (var (c, score) in concepts.Scores(pack, vector).Where(s => s.Concept.Name == group.Key))
                        {
                            threshold = c.Threshold;
                            data.Add(new Scored(score, label.Match ?? true));
                        }
                    }
                    if (threshold is { } t && data.Count > 0) reports.Add(Evaluation.Report($"concept:{group.Key}", FlagMethods.Embedding(pack), data, t, true, targetPrecision, s => Math.Round(s, 6)));
                }
            }
        }
        return reports;
    }

    /// <summary>A media reference: a catalog id, or a path (relative to the truth file) whose bytes' SHA-256 or first path is catalogued.</summary>
    CatalogItem? Resolve(string reference, string baseDirectory)
    {
        if (reference.Length == 64 && reference.All(char.IsAsciiHexDigitLower) && store.Catalog.Find(reference) is { } byId) return byId;
        var path = Path.GetFullPath(Path.Combine(baseDirectory, reference));
        CatalogItem? found = null;
        if (File.Exists(path))
        {
            using var stream = File.OpenRead(path);
            found = store.Catalog.Find(Convert.ToHexStringLower(SHA256.HashData(stream)));
        }
        if (found is null) Unresolved.Add(reference);
        return found;
    }

    static float[]? VectorOf(IVectorIndex index, CatalogItem item)
    {
        var v = new float[index.Dimension];
        return index.TryGetVector(item.Seq, v) ? v : null;
    }
}
