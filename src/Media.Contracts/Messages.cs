namespace Media.Contracts.V1;

/// <summary>Modality names used in messages and output.</summary>
public static class Modalities
{
    public const string Image = "image";
    public const string Audio = "audio";
    public const string Text = "text";
}

/// <summary>Final status of a submitted item.</summary>
public static class MediaStatus
{
    /// <summary>New media, added to the catalog and indexes (it may still carry near-duplicate flags).</summary>
    public const string Indexed = "indexed";
    /// <summary>The exact bytes were already indexed (SHA-256 match); nothing was re-encoded.</summary>
    public const string Duplicate = "duplicate";
    /// <summary>The item could not be read or decoded; <c>Error</c> says why.</summary>
    public const string Rejected = "rejected";
}

/// <summary>Where a submitted item's bytes are. Exactly one of the three is set.</summary>
/// <param name="Path">A file path readable by the encode workers.</param>
/// <param name="Uri">An http(s) or file URI.</param>
/// <param name="Inline">The bytes themselves, up to <see cref="MaxInlineBytes"/>.</param>
public sealed record MediaSource(string? Path = null, string? Uri = null, byte[]? Inline = null)
{
    /// <summary>Largest inline payload accepted, bytes (4 MiB); larger media travel by path or URI.</summary>
    public const int MaxInlineBytes = 4 << 20;

    /// <summary>A human-readable name for the source: the path, the URI, or <c>inline:N bytes</c>.</summary>
    public string Describe() => Path ?? Uri ?? $"inline:{Inline?.Length ?? 0} bytes";
}

/// <summary>A media item to encode, check and index. Published by submitters (e.g. <c>media ingest</c>).</summary>
/// <param name="SubmissionId">Unique per submission; redeliveries keep it, so results are idempotent.</param>
/// <param name="CorrelationId">Groups the submissions of one request; results carry it back.</param>
/// <param name="Source">Where the bytes are.</param>
/// <param name="MediaId">Caller's id, or null (the id is then the SHA-256 of the bytes).</param>
/// <param name="Modality">Declared modality, or null to sniff it from the bytes.</param>
/// <param name="Packs">Model-pack names to embed with, or null for every loaded pack.</param>
/// <param name="Collection">Optional collection tag.</param>
/// <param name="Sequence">Position of this item in its correlation (0, 1, 2, …), or null. When set, detection indexes
/// the items of a correlation in this order, so an earlier item is the original of a later near-duplicate.</param>
public sealed record MediaSubmitted(
    Guid SubmissionId,
    Guid CorrelationId,
    MediaSource Source,
    string? MediaId = null,
    string? Modality = null,
    string[]? Packs = null,
    string? Collection = null,
    long? Sequence = null);

/// <summary>One embedding of an item in one pack's space.</summary>
/// <param name="Pack">Pack name.</param>
/// <param name="Version">Pack version.</param>
/// <param name="Space">Embedding space id.</param>
/// <param name="Semantic">Whether the pack's distances mean something semantically.</param>
/// <param name="Vector">Unit-norm embedding, float32 [dimension].</param>
/// <param name="Classification">The pack's classifier output for the item, label → probability in [0, 1], when the pack's
/// image tower has a classifier head (e.g. nsfwjs's <c>Drawing, Hentai, Neutral, Porn, Sexy</c>); null otherwise.</param>
public sealed record PackEmbedding(string Pack, string Version, string Space, bool Semantic, float[] Vector,
    IReadOnlyDictionary<string, double>? Classification = null);

/// <summary>An item after the encode stage: hashes and embeddings ready for detection and indexing, or the reason it was rejected.</summary>
/// <param name="SubmissionId">The submission it answers.</param>
/// <param name="CorrelationId">The submitter's correlation id.</param>
/// <param name="Path">Where the bytes came from (<see cref="MediaSource.Describe"/>).</param>
/// <param name="Sha256">SHA-256 of the bytes, 64 hex digits (also the media id).</param>
/// <param name="AlreadyIndexed">True when these exact bytes were already in the catalog, so nothing was encoded.</param>
/// <param name="Modality">Modality of the media.</param>
/// <param name="Format">Sniffed container format, e.g. <c>jpeg</c>.</param>
/// <param name="SizeBytes">Encoded size, bytes.</param>
/// <param name="Width">Width after EXIF orientation, pixels.</param>
/// <param name="Height">Height after EXIF orientation, pixels.</param>
/// <param name="Pdq">PDQ hash (64 hex digits) or null.</param>
/// <param name="PdqQuality">PDQ quality, 0–100.</param>
/// <param name="PdqDihedral">The 8 dihedral PDQ hashes (original, rot90, rot180, rot270, flipX, flipY, flip+1, flip−1).</param>
/// <param name="Embeddings">One embedding per pack.</param>
/// <param name="Collection">The submission's collection tag.</param>
/// <param name="Sequence">The submission's sequence number.</param>
/// <param name="DurationSeconds">Audio length, seconds (audio only).</param>
/// <param name="Chromaprint">Raw Chromaprint fingerprint, one 32-bit item per ≈ 0.124 s (audio only).</param>
/// <param name="Error">Set when the encode stage rejected the item (corrupt, unsupported, over a limit); hashes and embeddings are then empty.</param>
public sealed record MediaEncoded(
    Guid SubmissionId,
    Guid CorrelationId,
    string Path,
    string Sha256,
    bool AlreadyIndexed,
    string Modality,
    string? Format,
    long SizeBytes,
    int Width,
    int Height,
    string? Pdq,
    int PdqQuality,
    string[]? PdqDihedral,
    PackEmbedding[] Embeddings,
    string? Collection = null,
    long? Sequence = null,
    string? Error = null,
    double? DurationSeconds = null,
    uint[]? Chromaprint = null);

/// <summary>A detection result attached to an item.</summary>
/// <param name="Kind"><c>exact_duplicate</c>, <c>near_duplicate</c>, <c>anomaly</c>, <c>concept</c>, <c>classification</c> or <c>bank_match</c>.</param>
/// <param name="Method"><c>sha256</c>, <c>pdq</c>, <c>embedding:&lt;pack&gt;</c>, …</param>
/// <param name="Of">Id of the media this one duplicates.</param>
/// <param name="OfPath">First path seen for <paramref name="Of"/>.</param>
/// <param name="Distance">Distance that triggered the flag (Hamming bits for PDQ, cosine distance for embeddings, 0 for SHA-256).</param>
/// <param name="Threshold">The policy threshold it was compared with.</param>
/// <param name="Score">For <c>anomaly</c>: the k-NN outlier score (mean cosine distance to the k nearest); for <c>concept</c>: the cosine
/// similarity; for <c>classification</c>: the class probability in [0, 1].</param>
/// <param name="Concept">For <c>concept</c>: the concept's name.</param>
/// <param name="Action">For <c>concept</c> and <c>classification</c>: the policy's action label (e.g. <c>review</c>, <c>block</c>); for <c>bank_match</c>: the bank's action.</param>
/// <param name="Label">For <c>classification</c>: the class label (as the pack's classifier names it, e.g. <c>Drawing</c>).</param>
/// <param name="Bank">For <c>bank_match</c>: the name of the hash bank matched.</param>
public sealed record MediaFlag(string Kind, string Method, string? Of = null, string? OfPath = null, double? Distance = null, double? Threshold = null,
    double? Score = null, string? Concept = null, string? Action = null, string? Label = null, string? Bank = null);

/// <summary>
/// The final result of a submission. Exactly one per <see cref="MediaSubmitted"/>. <c>Action</c> is the action resolved
/// from the flags by the policy's precedence (a lower-case label such as <c>block</c>, <c>review</c>, <c>allow</c>), or null
/// when no flag carries one; see README "Actions and webhooks".
/// </summary>
public sealed record MediaProcessed(
    Guid SubmissionId,
    Guid CorrelationId,
    string? MediaId,
    string? Sha256,
    string Path,
    string? Modality,
    string Status,
    MediaFlag[] Flags,
    string? Error = null,
    string? Action = null);

/// <summary>Published when an item's exact bytes (SHA-256) are already catalogued; nothing new was stored.</summary>
public sealed record ExactDuplicateDetected(Guid SubmissionId, Guid CorrelationId, string MediaId, string Path, MediaFlag Flag);

/// <summary>Published when an item is flagged as a near duplicate (PDQ, Chromaprint or embedding) of catalogued media; never for exact duplicates (<see cref="ExactDuplicateDetected"/>).</summary>
public sealed record NearDuplicateDetected(Guid SubmissionId, Guid CorrelationId, string MediaId, string Path, MediaFlag Flag);

/// <summary>Published when an item's k-NN outlier score exceeds the calibrated threshold of its space.</summary>
public sealed record AnomalyDetected(Guid SubmissionId, Guid CorrelationId, string MediaId, string Path, MediaFlag Flag);

/// <summary>Published when an item matches a concept of the moderation policy.</summary>
public sealed record ConceptMatched(Guid SubmissionId, Guid CorrelationId, string MediaId, string Path, MediaFlag Flag);

/// <summary>Published when a pack's classifier gives an item a class probability at or above a <c>classifications</c> rule of the
/// moderation policy; <c>Flag</c> has kind <c>classification</c>, the label, the probability as score, the threshold and the action.</summary>
public sealed record ClassificationMatched(Guid SubmissionId, Guid CorrelationId, string MediaId, string Path, MediaFlag Flag);

/// <summary>
/// Published when an item matches an enabled hash bank (<see cref="MediaFlag.Bank"/>, <see cref="MediaFlag.Action"/>; method
/// <c>sha256</c>, <c>pdq</c> or <c>chromaprint</c>), one per bank matched; for new items and exact duplicates alike.
/// </summary>
public sealed record BankMatched(Guid SubmissionId, Guid CorrelationId, string MediaId, string Path, MediaFlag Flag);

/// <summary>Published when an item is rejected (corrupt, unsupported, over a limit).</summary>
public sealed record MediaRejected(Guid SubmissionId, Guid CorrelationId, string Path, string Reason);

/// <summary>A search: by text, by image or by audio (path or inline bytes), or by a catalogued item, answered with <see cref="SearchResponse"/>.</summary>
/// <param name="Text">Text query.</param>
/// <param name="ImagePath">Image query as a path readable by the query node.</param>
/// <param name="Image">Image query as bytes.</param>
/// <param name="AudioPath">Audio query as a path readable by the query node.</param>
/// <param name="Audio">Audio query as bytes.</param>
/// <param name="K">Results wanted, 1–1000.</param>
/// <param name="Pack">Pack name to search with, or null for every pack that can embed the query.</param>
/// <param name="Modality">Only return media of this modality, or null for all.</param>
/// <param name="MediaId">A catalogued item (SHA-256 hex) whose stored embedding is the query ("more like this"); the item itself is left out of the results.</param>
public sealed record SearchRequest(string? Text = null, string? ImagePath = null, byte[]? Image = null, int K = 10, string? Pack = null, string? Modality = null,
    string? AudioPath = null, byte[]? Audio = null, string? MediaId = null);

/// <summary>One search hit; <paramref name="Score"/> is cosine similarity in [−1, 1]; <paramref name="Pack"/> and
/// <paramref name="Version"/> name the pack@version whose space produced it (the name's active version).</summary>
public sealed record SearchHit(string Id, string Path, string Modality, double Score, string Pack, string? Version = null);

/// <summary>The answer to a <see cref="SearchRequest"/>: hits best first, or an error.</summary>
/// <param name="Results">Hits, best first.</param>
/// <param name="Error">Why the request was refused, or null.</param>
/// <param name="Node">The query node that answered (<c>host/pid</c>), or null: with many query nodes, which one it was.</param>
public sealed record SearchResponse(SearchHit[] Results, string? Error = null, string? Node = null);
