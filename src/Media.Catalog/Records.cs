using Media.Domain;

namespace Media.Catalog;

/// <summary>
/// A catalogued media item, as the catalog stores it. <see cref="Id"/> is the SHA-256 of its bytes (64 lower-case hex
/// digits); <see cref="Seq"/> is the catalog's insertion sequence (1, 2, 3, … without reuse), assigned by
/// <see cref="IMediaCatalog.Insert"/>: the lower sequence is the earlier item, which detection treats as the original.
/// Hashes are raw bytes: <see cref="Pdq"/> 32 bytes, <see cref="PdqDihedral"/> 8 × 32 bytes in <c>PdqHash.Dihedral</c>
/// order (original, rot90, rot180, rot270, flipX, flipY, flip+1, flip−1).
/// </summary>
/// <param name="Seq">Insertion sequence; 0 on an item not yet inserted.</param>
/// <param name="Id">SHA-256 of the bytes, hex.</param>
/// <param name="Path">Where the bytes came from when first catalogued (path, URI or <c>inline:N bytes</c>).</param>
/// <param name="Modality"><c>image</c> or <c>audio</c>.</param>
/// <param name="Format">Sniffed container format, e.g. <c>jpeg</c>.</param>
/// <param name="SizeBytes">Encoded size, bytes.</param>
/// <param name="Width">Width after EXIF orientation, pixels (0 for audio).</param>
/// <param name="Height">Height after EXIF orientation, pixels (0 for audio).</param>
/// <param name="Pdq">PDQ hash, 32 bytes (images), or null.</param>
/// <param name="PdqQuality">PDQ quality, 0–100.</param>
/// <param name="PdqDihedral">The 8 dihedral PDQ hashes, 256 bytes, or null.</param>
/// <param name="DurationSeconds">Length, seconds (audio).</param>
/// <param name="Chromaprint">Raw Chromaprint fingerprint, one 32-bit item per ≈ 0.124 s (audio).</param>
/// <param name="Collection">Collection tag, or null.</param>
/// <param name="CreatedAt">When it was catalogued (UTC); set by the catalog.</param>
public sealed record CatalogItem(
    long Seq, string Id, string Path, string Modality, string? Format, long SizeBytes, int Width, int Height,
    byte[]? Pdq = null, int PdqQuality = 0, byte[]? PdqDihedral = null, double? DurationSeconds = null, uint[]? Chromaprint = null,
    string? Collection = null, DateTimeOffset CreatedAt = default);

/// <summary>One embedding of an item: the pack@version that produced it, its space, and the unit vector.</summary>
/// <param name="Pack">The producing pack and version.</param>
/// <param name="Space">Embedding space id (packs with one space id produce comparable vectors).</param>
/// <param name="Semantic">Whether the pack's distances mean something semantically.</param>
/// <param name="Vector">Unit-norm float32 [dimension].</param>
public sealed record CatalogEmbedding(PackKey Pack, string Space, bool Semantic, float[] Vector);

/// <summary>A detection flag as stored with its submission.</summary>
/// <param name="Kind">What it says.</param>
/// <param name="Method">How it was found (<see cref="FlagMethods"/>).</param>
/// <param name="Of">Id of the item it duplicates (duplicates only).</param>
/// <param name="OfPath">That item's first path.</param>
/// <param name="Distance">Hamming bits (PDQ), bit error rate (Chromaprint), cosine distance (embeddings), 0 (SHA-256).</param>
/// <param name="Threshold">The policy threshold it was compared with.</param>
/// <param name="Score">Anomaly: the k-NN outlier score; concept: the cosine similarity; classification: the class probability.</param>
/// <param name="Label">Concept: the concept's name; classification: the class label; bank match: the bank's name.</param>
/// <param name="Action">The policy's or the bank's action label (e.g. <c>review</c>, <c>block</c>).</param>
public sealed record CatalogFlag(FlagKind Kind, string Method, string? Of = null, string? OfPath = null, double? Distance = null, double? Threshold = null,
    double? Score = null, string? Label = null, string? Action = null);

/// <summary>
/// The outcome of one submission, kept so that a redelivered submission is answered with the same result and writes
/// nothing twice.
/// </summary>
/// <param name="SubmissionId">The submission's id.</param>
/// <param name="CorrelationId">The submitter's correlation id.</param>
/// <param name="MediaId">The item's id (SHA-256); null when rejected before hashing.</param>
/// <param name="Path">The submitted source, described.</param>
/// <param name="Modality">The item's modality, when known.</param>
/// <param name="Status">Indexed, duplicate or rejected.</param>
/// <param name="Flags">The flags it got.</param>
/// <param name="Error">Why it was rejected.</param>
/// <param name="Action">The action label resolved from <paramref name="Flags"/> (lower-case, e.g. <c>block</c>), or null when no
/// flag carries one. Derived by the detection policy whenever a result leaves the detector; the catalog does not store it
/// (it stores each flag's own action), so a record read back from the catalog has null here until resolved.</param>
public sealed record SubmissionRecord(Guid SubmissionId, Guid CorrelationId, string? MediaId, string Path, string? Modality,
    SubmissionStatus Status, IReadOnlyList<CatalogFlag> Flags, string? Error = null, string? Action = null);

/// <summary>Counts for <c>media stats</c>: items, items per modality, embeddings per pack key, flags per kind name.</summary>
public sealed record CatalogStats(long Items, IReadOnlyDictionary<string, long> ByModality, IReadOnlyDictionary<string, long> Packs, IReadOnlyDictionary<string, long> Flags);

/// <summary>The catalog cannot be opened or used: unreadable, corrupt, or a schema this build does not know.</summary>
public sealed class CatalogException(string message, Exception? inner = null) : Exception(message, inner);
