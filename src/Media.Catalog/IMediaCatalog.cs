using Media.Domain;

namespace Media.Catalog;

/// <summary>
/// The catalog, the system of record (shaped after ThreatExchange HMA's <c>storage/interface.py</c>): media items with
/// their hashes, their embeddings per pack@version, the flags of every submission, and every submission's result for
/// idempotent replay. Indexes are derived from it and can always be rebuilt from it.
/// <para>Contract (checked against every implementation by <c>CatalogContract</c> in the tests):</para>
/// <list type="bullet">
/// <item><see cref="Insert"/> writes an item, its embeddings, its flags and its submission in one transaction: all or nothing.</item>
/// <item>An id is catalogued at most once, whatever the concurrency, across processes and nodes; a losing insert writes nothing.</item>
/// <item>A submission id is recorded at most once; the first record wins.</item>
/// <item>Sequences are assigned at insert, strictly increasing in commit order, never reused.</item>
/// <item>What an insert or record call returned from stays after a crash (<c>kill -9</c>) and a reopen.</item>
/// <item>Implementations are thread-safe.</item>
/// </list>
/// </summary>
public interface IMediaCatalog : IDisposable
{
    /// <summary>Where the catalog lives, for messages (a file path, or a connection string without its password).</summary>
    string Location { get; }

    /// <summary>
    /// Catalogs a new item with its embeddings and records the submission that brought it (with its flags), in one
    /// transaction. Returns the item as stored (its <see cref="CatalogItem.Seq"/> and <see cref="CatalogItem.CreatedAt"/>
    /// set), or null, writing nothing, when the id is already catalogued.
    /// </summary>
    /// <exception cref="ArgumentException">The submission is not <see cref="SubmissionStatus.Indexed"/> or names another media id.</exception>
    CatalogItem? Insert(CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission);

    /// <summary>
    /// Begins a group of writes that commit together (<see cref="ICatalogWriteGroup"/>). Other threads' calls may wait
    /// until the group ends; on the group's own thread the catalog's reads see its writes.
    /// </summary>
    ICatalogWriteGroup BeginWriteGroup();

    /// <summary>Records a submission that added no item (an exact duplicate or a rejection) with its flags. A submission id already recorded is left as it is.</summary>
    void RecordSubmission(SubmissionRecord submission);

    /// <summary>The recorded result of a submission, or null.</summary>
    SubmissionRecord? FindSubmission(Guid submissionId);

    /// <summary>The item with this id (SHA-256 hex), or null.</summary>
    CatalogItem? Find(string id);

    /// <summary>Items with <see cref="CatalogItem.Seq"/> &gt; <paramref name="afterSeq"/>, in sequence order, streamed.</summary>
    IEnumerable<CatalogItem> Items(long afterSeq = 0);

    /// <summary>Embeddings of items with sequence &gt; <paramref name="afterSeq"/>, in sequence order, streamed; optionally of one pack only.</summary>
    IEnumerable<(long Seq, CatalogEmbedding Embedding)> Embeddings(long afterSeq = 0, PackKey? pack = null);

    /// <summary>The flags recorded for an item (those of the submission that catalogued it, then those of later duplicates).</summary>
    IReadOnlyList<CatalogFlag> Flags(string mediaId);

    /// <summary>
    /// Flags with the id of the item each was raised on, in recording order, streamed: every flag, or those of one
    /// <paramref name="kind"/> (e.g. the near-duplicate flags that the duplicate review groups).
    /// </summary>
    IEnumerable<(string MediaId, CatalogFlag Flag)> AllFlags(FlagKind? kind = null);

    /// <summary>The flags that name <paramref name="mediaId"/> as the item they duplicate (<see cref="CatalogFlag.Of"/>), with the id of the item each was raised on, in recording order.</summary>
    IReadOnlyList<(string MediaId, CatalogFlag Flag)> FlagsOf(string mediaId);

    /// <summary>The highest sequence catalogued so far (0 when empty).</summary>
    long LastSeq { get; }

    /// <summary>Counts for <c>media stats</c>.</summary>
    CatalogStats Stats();

    /// <summary>
    /// Adds one embedding to an item already catalogued (reprocessing with another pack@version). At most one embedding per
    /// item and pack@version: returns false, writing nothing, when the item already has one of this pack@version.
    /// A write bumps <see cref="EmbeddingGeneration"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No item has sequence <paramref name="seq"/>.</exception>
    bool AddEmbedding(long seq, CatalogEmbedding embedding);

    /// <summary>Counts changes to embeddings of items already catalogued (added by reprocessing, or dropped); 0 when there
    /// were none. An index snapshot taken at another generation is stale.</summary>
    long EmbeddingGeneration { get; }
}
