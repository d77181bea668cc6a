using System.Diagnostics;
using Media.Catalog;
using Media.Contracts.V1;
using Media.Domain;
using Media.Hashing;
using System.Runtime.ExceptionServices;

namespace Media.Detection;

/// <summary>
/// Detect-and-index: decides an encoded item's flags against what is already indexed, then catalogs it.
/// <list type="bullet">
/// <item>exact duplicate: the SHA-256 is already catalogued → status <c>duplicate</c>, nothing new stored;</item>
/// <item>near duplicate by PDQ: Hamming distance ≤ threshold over the 8 dihedral hashes (rotated and mirrored copies match), both qualities ≥ the minimum;</item>
/// <item>near duplicate by Chromaprint (audio): bit error rate at the best alignment ≤ threshold (transcodes, trims);</item>
/// <item>near duplicate by embedding: cosine distance ≤ threshold in the space of a <c>semantic: true</c> pack only.</item>
/// </list>
/// Each near-duplicate method is a range query against its index, then the lowest catalog sequence among the hits:
/// a flag names the earliest catalogued item within the threshold (the original), not merely the nearest, so copies of
/// copies are reported against their original. Further rules (<see cref="AnomalyRule"/>, <see cref="ConceptRule"/>,
/// <see cref="HashBankRule"/>) add their flags against the same index state; those that judge the content itself (hash
/// banks) flag exact duplicates too. Calls are serialised, and callers admit the items of a submitter in
/// its order (<see cref="SequenceGate"/>), which makes "first" well defined. A submission seen before (redelivery)
/// returns its stored result and writes nothing; a rejection from the encode stage is recorded as such.
/// </summary>
/// <param name="store">The catalog and its indexes.</param>
/// <param name="policy">Thresholds and actions.</param>
/// <param name="flagRules">Further rules (anomaly, concepts, classifications, hash banks).</param>
/// <param name="isActive">Whether an embedding's pack@version is its name's active version; only active versions are used
/// for flags and rules (every embedding is still catalogued and indexed). Null: every version is active.</param>
public sealed class DuplicateDetector(IndexedCatalog store, DetectionPolicy policy, IReadOnlyList<IFlagRule>? flagRules = null, Func<PackKey, bool>? isActive = null)
{
    readonly Lock _gate = new();
    readonly IReadOnlyList<IFlagRule> _rules = flagRules ?? [];

    public DetectionPolicy Policy => policy;

    /// <summary>From this many indexed PDQ hashes on, an item's PDQ queries run beside its other queries, on another
    /// core (below, handing them over costs more than it saves), when the machine has a core for them: see
    /// <see cref="PdqWorkerCores"/>. Default 50,000.</summary>
    public int ParallelPdqRows { get; init; } = 50_000;

    /// <summary>
    /// Cores it takes for the PDQ queries to run beside the rest: one for this thread, one for the HNSW insertion
    /// thread (<c>BufferedVectorIndex</c>) and one for the PDQ worker. With fewer, the three contend for two cores: at
    /// 10⁶ items on this 2-core machine, timed per phase in the index benchmark, this thread then waited about 0.6 ms
    /// per item for a PDQ batch that costs 0.5 ms on its own, and detection ran at 863–907 items/s against 934–938
    /// with the queries on this thread. Default 3.
    /// </summary>
    public int PdqWorkerCores { get; init; } = 3;

    /// <summary>
    /// Flags, catalogs and indexes one item; returns its recorded result with <see cref="SubmissionRecord.Action"/>
    /// resolved from its flags by <see cref="DetectionPolicy.Actions"/> (also for a redelivered submission, whose stored
    /// flags are resolved again). A batch of one (<see cref="ProcessBatch"/>); calls are serialised.
    /// </summary>
    /// <exception cref="DetectionLockLostException">The lock was lost before the insert committed (nothing written): process again.</exception>
    public SubmissionRecord Process(MediaEncoded item)
    {
        var outcome = ProcessBatch([item])[0];
        if (outcome.Error is { } error) ExceptionDispatchInfo.Throw(error);
        return outcome.Result!;
    }

    /// <summary>
    /// Flags, catalogs and indexes items in their order, each decided against the indexes with the ones before it, and
    /// commits them to the catalog together (group commit, <see cref="IndexedCatalog.BeginWriteGroup"/>): one outcome per
    /// item, in order, each as <see cref="Process"/> would return or throw it. An item that fails (a malformed hash, say)
    /// fails alone; when the commit fails, every item fails with its exception and the indexes are loaded again. Calls are
    /// serialised.
    /// </summary>
    /// <remarks>On a catalog that several detect nodes share (<see cref="ISharedCatalog"/>), each batch holds the
    /// catalog's detection lock from the catch-up with the other nodes' items to the commit of its own (batches waiting
    /// at this node keep it for up to <see cref="ItemsPerDetectionLock"/> items), so of two near-duplicate copies
    /// arriving at two nodes at once, one is decided after the other is catalogued and is flagged against it; a
    /// redelivered submission finds its stored result whichever node recorded it. When the lock is lost, the item being
    /// decided and those after it fail with <see cref="DetectionLockLostException"/> (nothing of them written).</remarks>
    /// <exception cref="DetectionLockLostException">Taking the lock or catching up failed: nothing was written.</exception>
    public DetectionOutcome[] ProcessBatch(IReadOnlyList<MediaEncoded> items)
    {
        var outcomes = new DetectionOutcome[items.Count];
        if (items.Count == 0) return outcomes;
        Interlocked.Increment(ref _waiting);
        lock (_gate)
        {
            Interlocked.Decrement(ref _waiting);
            if (store.Catalog is not ISharedCatalog shared)
            {
                Decide(items, outcomes);
                return outcomes;
            }
            try
            {
                if (_held is null)
                {
                    _held = shared.LockDetection();
                    _heldItems = 0;
                }
                store.Refresh();
                Decide(items, outcomes);
            }
            catch
            {
                ReleaseDetectionLock(); // a lost lock is not reused
                throw;
            }
            finally
            {
                // Kept for the next batch already waiting here (a burst costs one hand-over and one catch-up, not one
                // per batch), but at most ItemsPerDetectionLock items, so the other nodes get their turn.
                if (_held is not null && ((_heldItems += items.Count) >= ItemsPerDetectionLock || Volatile.Read(ref _waiting) == 0)) ReleaseDetectionLock();
            }
            return outcomes;
        }
    }

    /// <summary>Decides the items in one write group and commits it (under <see cref="_gate"/>).</summary>
    void Decide(IReadOnlyList<MediaEncoded> items, DetectionOutcome[] outcomes)
    {
        using var group = store.BeginWriteGroup();
        for (var i = 0; i < items.Count; i++)
        {
            try
            {
                outcomes[i] = new(WithAction(ProcessLocked(items[i], group)), null);
            }
            catch (DetectionLockLostException lost)
            {
                ReleaseDetectionLock(); // a lost lock is not reused; nothing of this item or the rest is written
                for (var j = i; j < items.Count; j++) outcomes[j] = new(null, lost);
                break;
            }
            catch (Exception ex)
            {
                outcomes[i] = new(null, ex);
            }
        }
        var started = Stopwatch.GetTimestamp();
        try
        {
            group.Commit();
        }
        catch (Exception ex)
        {
            for (var i = 0; i < items.Count; i++)
                if (outcomes[i].Error is null) outcomes[i] = new(null, ex);
        }
        LastCommitTime = Stopwatch.GetElapsedTime(started);
    }

    /// <summary>How long the last <see cref="ProcessBatch"/>'s catalog commit took (read it on the thread that called
    /// it; the index benchmark reports it for slow batches).</summary>
    public TimeSpan LastCommitTime { get; private set; }

    /// <summary>Items decided in a row under one hold of a shared catalog's detection lock, when more are waiting.</summary>
    public const int ItemsPerDetectionLock = 16;

    IDisposable? _held;
    int _heldItems;
    int _waiting;

    void ReleaseDetectionLock()
    {
        var held = _held;
        _held = null;
        held?.Dispose();
    }

    /// <summary>The result with its action resolved from its flags (derived, so the catalog stores no column for it).</summary>
    SubmissionRecord WithAction(SubmissionRecord r) => r with { Action = policy.Actions.Resolve(r.Flags) };

    SubmissionRecord ProcessLocked(MediaEncoded item, IndexWriteGroup group)
    {
        if (store.Catalog.FindSubmission(item.SubmissionId) is { } earlier) return earlier;

        if (item.Error is not null)
            return Record(group, new SubmissionRecord(item.SubmissionId, item.CorrelationId, null, item.Path, item.Modality, SubmissionStatus.Rejected, [], item.Error));

        if (store.Find(item.Sha256) is { } existing)
            return Record(group, Result(item, SubmissionStatus.Duplicate,
                [new CatalogFlag(FlagKind.ExactDuplicate, FlagMethods.Sha256, existing.Id, store.PathOf(existing.Seq), 0, 0), .. ExactDuplicateRuleFlags(item)]));

        var rules = policy.For(item.Modality);
        var flags = new List<CatalogFlag>();
        // PDQ's eight range queries are the largest single cost at 10⁶ items (≈ 0.5 ms); past ParallelPdqRows they run
        // on another core meanwhile the embedding queries and the rules run here (indexes take many readers).
        // Parsed once: the dihedral hashes are both the PDQ queries and the catalog record's bytes.
        var dihedral = item.PdqDihedral is null ? null : PdqBytes(item.PdqDihedral);
        // The worker touches the in-memory indexes only: the catalog belongs to this thread's write group meanwhile.
        var pdqTask = item.Pdq is not null && Environment.ProcessorCount >= PdqWorkerCores && store.Pdq.Count >= ParallelPdqRows
            ? Task.Run(() => PdqMatch(item, rules, dihedral)) : null;
        if (pdqTask is null && PdqMatch(item, rules, dihedral) is { } pdq) flags.Add(PdqFlag(pdq, rules));
        if (ChromaprintFlag(item, rules) is { } audio) flags.Add(audio);
        // Flags come from each pack name's active version only; the item is still catalogued with every version's embedding.
        var judged = isActive is null ? item : item with { Embeddings = [.. item.Embeddings.Where(e => isActive(new PackKey(e.Pack, e.Version)))] };
        foreach (var e in judged.Embeddings.Where(e => e.Semantic))
            if (EmbeddingFlag(e, rules) is { } flag) flags.Add(flag);
        foreach (var rule in _rules) flags.AddRange(rule.Evaluate(judged));
        if (pdqTask?.GetAwaiter().GetResult() is { } pdqMatch) flags.Insert(0, PdqFlag(pdqMatch, rules));

        var result = Result(item, SubmissionStatus.Indexed, flags);
        var record = new CatalogItem(0, item.Sha256, item.Path, item.Modality, item.Format, item.SizeBytes, item.Width, item.Height,
            item.Pdq is null ? null : PdqHash.Parse(item.Pdq).ToBytes(), item.PdqQuality,
            dihedral,
            item.DurationSeconds, item.Chromaprint, item.Collection);
        var embeddings = item.Embeddings.Select(e => new CatalogEmbedding(new PackKey(e.Pack, e.Version), e.Space, e.Semantic, e.Vector)).ToArray();
        if (group.Add(record, embeddings, result) is null)
            return ProcessLocked(item, group); // catalogued meanwhile by another process: now an exact duplicate
        return result;
    }

    /// <summary>
    /// Flags of the rules that also judge exact duplicates (<see cref="IFlagRule.EvaluatesExactDuplicates"/>, e.g. hash
    /// banks). The duplicate was not re-encoded, so they see it with the catalogued copy's hashes.
    /// </summary>
    CatalogFlag[] ExactDuplicateRuleFlags(MediaEncoded item)
    {
        var rules = _rules.Where(r => r.EvaluatesExactDuplicates).ToArray();
        if (rules.Length == 0 || store.Catalog.Find(item.Sha256) is not { } stored) return [];
        var copy = item with
        {
            Modality = stored.Modality,
            Pdq = stored.Pdq is null ? null : Convert.ToHexStringLower(stored.Pdq),
            PdqQuality = stored.PdqQuality,
            PdqDihedral = stored.PdqDihedral is { } d ? [.. d.Chunk(32).Select(Convert.ToHexStringLower)] : null,
            Chromaprint = stored.Chromaprint,
            Embeddings = [],
        };
        return [.. rules.SelectMany(r => r.Evaluate(copy))];
    }

    SubmissionRecord Record(IndexWriteGroup group, SubmissionRecord result)
    {
        group.RecordSubmission(result);
        return store.Catalog.FindSubmission(result.SubmissionId) ?? result; // another node may have recorded it first
    }

    /// <summary>PDQ: one batch of range queries, a query per dihedral variant (<paramref name="dihedral"/>: their bytes
    /// back to back; null: the hash alone), among hashes of sufficient quality; then the earliest hit, at its distance
    /// to the nearest variant. Reads the indexes only, never the catalog (it may run beside a write group).</summary>
    (long Seq, int Distance)? PdqMatch(MediaEncoded item, ModalityPolicy rules, byte[]? dihedral)
    {
        if (item.Pdq is null || item.PdqQuality < rules.PdqMinQuality) return null;
        var queries = dihedral ?? PdqHash.Parse(item.Pdq).ToBytes();
        var best = new Dictionary<long, int>();
        foreach (var hits in store.Pdq.RangeSearchBatch(queries, rules.PdqMaxDistance, seq => store.PdqQuality(seq) >= rules.PdqMinQuality))
            foreach (var hit in hits)
                best[hit.Id] = Math.Min(hit.Distance, best.GetValueOrDefault(hit.Id, int.MaxValue));
        if (best.Count == 0) return null;
        var original = best.Keys.Min();
        return (original, best[original]);
    }

    CatalogFlag PdqFlag((long Seq, int Distance) match, ModalityPolicy rules) =>
        Flag(match.Seq, FlagMethods.Pdq, match.Distance, rules.PdqMaxDistance);

    /// <summary>PDQ hashes in their text form → their bytes (<see cref="PdqHash.ToBytes"/>) back to back.</summary>
    /// <exception cref="FormatException">A hash is not 64 hex digits.</exception>
    static byte[] PdqBytes(IReadOnlyList<string> hashes)
    {
        var bytes = new byte[hashes.Count * PdqHash.Bytes];
        for (var i = 0; i < hashes.Count; i++) PdqHash.Parse(hashes[i]).WriteBytes(bytes.AsSpan(i * PdqHash.Bytes));
        return bytes;
    }

    CatalogFlag? ChromaprintFlag(MediaEncoded item, ModalityPolicy rules)
    {
        if (item.Chromaprint is not { Length: > 0 } fp) return null;
        var hits = store.Chromaprint.RangeSearch(fp, 1 - rules.ChromaprintMaxBitErrorRate);
        if (hits.Count == 0) return null;
        var (seq, match) = hits[0];
        return Flag(seq, FlagMethods.Chromaprint, Math.Round(1 - match.Similarity, 6), Math.Round(rules.ChromaprintMaxBitErrorRate, 6));
    }

    /// <summary>Rows of the near-duplicate range query's first probe (as <c>HnswVectorIndex.RangeSearch</c>'s): a range
    /// query's rows are the query's nearest, and only a probe that comes back full needs the index's own range search.</summary>
    const int NearDuplicateProbe = 16;

    /// <summary>Embedding near-duplicate: a range query of the cosine threshold, then the earliest hit. It starts as a
    /// k-NN probe of <see cref="NearDuplicateProbe"/> rows at the anomaly rule's efSearch (at least the probe's size)
    /// through <see cref="IndexedCatalog.Nearest"/>, so the anomaly rule's k-NN of the same embedding reuses the walk;
    /// a probe whose farthest row is still in range is followed by the index's range search.</summary>
    CatalogFlag? EmbeddingFlag(PackEmbedding e, ModalityPolicy rules)
    {
        if (store.Space(new PackKey(e.Pack, e.Version)) is not { } space) return null;
        var threshold = rules.CosineThreshold(e.Pack, e.Version);
        var probe = store.Nearest(space, e.Vector, NearDuplicateProbe, Math.Max(NearDuplicateProbe, policy.Anomaly.EfSearch));
        var full = probe.Length == NearDuplicateProbe && probe[^1].Distance <= threshold;
        var hits = full ? space.Index.RangeSearch(e.Vector, (float)threshold) : probe.Where(h => h.Distance <= threshold).ToArray();
        if (hits.Length == 0) return null;
        var original = hits.MinBy(h => h.Id);
        return Flag(original.Id, FlagMethods.Embedding(e.Pack), Math.Round(Math.Max(0, original.Distance), 6), threshold);
    }

    /// <summary>A near-duplicate flag against the item at <paramref name="seq"/>, naming its id and first path.</summary>
    CatalogFlag Flag(long seq, string method, double distance, double threshold) =>
        new(FlagKind.NearDuplicate, method, store.Find(seq)?.Id, store.PathOf(seq), distance, threshold);

    static SubmissionRecord Result(MediaEncoded item, SubmissionStatus status, IReadOnlyList<CatalogFlag> flags) =>
        new(item.SubmissionId, item.CorrelationId, item.Sha256, item.Path, item.Modality, status, flags);
}

/// <summary>What became of one item of <see cref="DuplicateDetector.ProcessBatch"/>: its recorded result (action
/// resolved), or the exception that failed it.</summary>
public readonly record struct DetectionOutcome(SubmissionRecord? Result, Exception? Error);

