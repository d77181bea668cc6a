using Media.Contracts.V1;
using Media.Embeddings.Hashing;
using Media.Index;

namespace Media.Detection;

/// <summary>
/// Detect-and-index: decides an encoded item's flags against what is already indexed, then catalogs it.
/// <list type="bullet">
/// <item>exact duplicate: the SHA-256 is already catalogued → status <c>duplicate</c>, nothing new stored;</item>
/// <item>near duplicate by PDQ: Hamming distance ≤ threshold over the 8 dihedral hashes (rotated and mirrored copies match), both qualities ≥ the minimum;</item>
/// <item>near duplicate by Chromaprint (audio): bit error rate at the best alignment ≤ threshold (transcodes, trims);</item>
/// <item>near duplicate by embedding: cosine distance ≤ threshold in the space of a <c>semantic: true</c> pack only.</item>
/// </list>
/// A flag names the earliest indexed item within the threshold (the original), not merely the nearest, so copies of
/// copies are reported against their original.
/// Further rules (<see cref="AnomalyRule"/>, <see cref="ConceptRule"/>) add their flags against the same index state.
/// The item indexed first is the original; later ones carry the flags. Calls are serialised, and callers admit the
/// items of a submitter in its order (<see cref="SequenceGate"/>), which makes "first" well defined. A submission seen
/// before (redelivery) returns its stored result and writes nothing; a rejection from the encode stage is recorded as such.
/// </summary>
public sealed class DuplicateDetector(MediaStore store, DetectionPolicy policy, IReadOnlyList<IFlagRule>? flagRules = null)
{
    public const string ExactDuplicate = "exact_duplicate";
    public const string NearDuplicate = "near_duplicate";

    readonly Lock _gate = new();
    readonly IReadOnlyList<IFlagRule> extraRules = flagRules ?? [];

    public DetectionPolicy Policy => policy;

    /// <summary>Flags, catalogs and indexes one item; returns its final result. Calls are serialised.</summary>
    public MediaProcessed Process(MediaEncoded item)
    {
        lock (_gate) return ProcessLocked(item);
    }

    MediaProcessed ProcessLocked(MediaEncoded item)
    {
        if (store.Catalog.FindResult(item.SubmissionId) is { } earlier) return earlier;

        if (item.Error is not null)
        {
            var rejected = new MediaProcessed(item.SubmissionId, item.CorrelationId, null, null, item.Path, item.Modality, MediaStatus.Rejected, [], item.Error);
            store.Catalog.RecordResult(item.SubmissionId, rejected);
            return rejected;
        }

        if (store.Find(item.Sha256) is { } existing)
        {
            var duplicate = Result(item, MediaStatus.Duplicate, [new MediaFlag(ExactDuplicate, "sha256", existing.Id, existing.Path, 0, 0)]);
            store.Catalog.RecordResult(item.SubmissionId, duplicate);
            return duplicate;
        }

        var rules = policy.For(item.Modality);
        var flags = new List<MediaFlag>();
        if (PdqFlag(item, rules) is { } pdq) flags.Add(pdq);
        if (ChromaprintFlag(item, rules) is { } audio) flags.Add(audio);
        foreach (var e in item.Embeddings.Where(e => e.Semantic))
            if (EmbeddingFlag(e, rules) is { } flag) flags.Add(flag);
        foreach (var rule in extraRules) flags.AddRange(rule.Evaluate(item));

        var result = Result(item, MediaStatus.Indexed, flags.ToArray());
        var record = new MediaRecord(item.Sha256, item.Path, item.Modality, item.Format, item.SizeBytes, item.Width, item.Height, item.Pdq, item.PdqQuality, item.Collection,
            PdqDihedral: item.PdqDihedral, DurationSeconds: item.DurationSeconds, Chromaprint: item.Chromaprint);
        var embeddings = item.Embeddings.Select(e => new StoredEmbedding($"{e.Pack}@{e.Version}", e.Space, e.Semantic, e.Vector)).ToArray();
        if (!store.Add(record, embeddings, flags, item.SubmissionId, result))
            return ProcessLocked(item); // catalogued meanwhile by another node: now an exact duplicate
        return result;
    }

    MediaFlag? PdqFlag(MediaEncoded item, ModalityPolicy rules)
    {
        if (item.Pdq is null || item.PdqQuality < rules.PdqMinQuality) return null;
        var variants = (item.PdqDihedral ?? [item.Pdq]).Select(PdqHash.Parse).ToArray();
        if (store.Pdq.FirstWithin(variants, rules.PdqMaxDistance, rules.PdqMinQuality) is not { } match) return null;
        var of = store.Find(match.Id);
        return new MediaFlag(NearDuplicate, "pdq", match.Id, of?.Path, match.Distance, rules.PdqMaxDistance);
    }

    MediaFlag? ChromaprintFlag(MediaEncoded item, ModalityPolicy rules)
    {
        if (item.Chromaprint is not { Length: > 0 } fp) return null;
        if (store.Chromaprint.FirstWithin(fp, 1 - rules.ChromaprintMaxBitErrorRate) is not { } hit) return null;
        return new MediaFlag(NearDuplicate, "chromaprint", hit.Id, store.Find(hit.Id)?.Path, Math.Round(1 - hit.Match.Similarity, 6), Math.Round(rules.ChromaprintMaxBitErrorRate, 6));
    }

    MediaFlag? EmbeddingFlag(PackEmbedding e, ModalityPolicy rules)
    {
        var index = store.Vectors($"{e.Pack}@{e.Version}");
        if (index is null || index.Count == 0) return null;
        var threshold = rules.CosineThreshold(e.Pack);
        if (index.FirstWithin(e.Vector, (float)(1.0 - threshold)) is not { } hit) return null;
        var distance = Math.Max(0, 1.0 - hit.Similarity);
        return new MediaFlag(NearDuplicate, $"embedding:{e.Pack}", hit.Id, store.Find(hit.Id)?.Path, Math.Round(distance, 6), threshold);
    }

    static MediaProcessed Result(MediaEncoded item, string status, MediaFlag[] flags) =>
        new(item.SubmissionId, item.CorrelationId, item.Sha256, item.Sha256, item.Path, item.Modality, status, flags);
}
