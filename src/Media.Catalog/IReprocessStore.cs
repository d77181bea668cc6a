using Media.Domain;

namespace Media.Catalog;

/// <summary>
/// What <c>media ingest</c> remembers of a file it catalogued, so that a re-run skips it before reading a byte: the
/// absolute path, its size and last-write time when it was submitted, and the id (SHA-256) of the item it became.
/// </summary>
/// <param name="Path">Absolute path as submitted.</param>
/// <param name="SizeBytes">File size, bytes, when it was submitted.</param>
/// <param name="MtimeTicks">Last-write time (UTC ticks, 100 ns) when it was submitted.</param>
/// <param name="MediaId">The catalogued item's id (SHA-256 hex): the file's own, or the item it exactly duplicates.</param>
public sealed record FileStamp(string Path, long SizeBytes, long MtimeTicks, string MediaId);

/// <summary>Status names of a reprocessing job (<see cref="ReprocessJob.Status"/>).</summary>
public static class JobStatus
{
    /// <summary>A run is in progress (or was killed; see <see cref="ReprocessJob.HeartbeatAt"/>).</summary>
    public const string Running = "running";
    /// <summary>The last run ended with every item in scope embedded.</summary>
    public const string Completed = "completed";
    /// <summary>The last run ended with items whose source is missing or unreadable (listed with reasons).</summary>
    public const string Incomplete = "incomplete";
    /// <summary>The last run stopped on a pipeline failure or was cancelled.</summary>
    public const string Failed = "failed";
}

/// <summary>
/// A reprocessing job: embed every catalogued item of the given modalities (and collection) with one pack@version.
/// Progress lives in the catalog itself: an item is done once it has an embedding of <see cref="Pack"/>, so a killed run
/// loses nothing and a re-run (a new <see cref="JobRun"/> of the same job) sees only the remainder.
/// </summary>
/// <param name="Id">Job id (1, 2, …).</param>
/// <param name="Kind"><c>reembed</c>.</param>
/// <param name="Pack">The target pack@version.</param>
/// <param name="Collection">The collection in scope, or null for the whole catalog.</param>
/// <param name="Modalities">The modalities in scope (those the pack has towers for), e.g. <c>["image"]</c>.</param>
/// <param name="Status">See <see cref="JobStatus"/>.</param>
/// <param name="CreatedAt">When the job was created (UTC).</param>
/// <param name="HeartbeatAt">Last progress write of the running run (UTC); a stale one means the run was killed.</param>
/// <param name="FinishedAt">When the last run ended, or null.</param>
/// <param name="Processed">Items embedded by this job over all its runs.</param>
/// <param name="Runs">The job's runs, first first.</param>
public sealed record ReprocessJob(long Id, string Kind, PackKey Pack, string? Collection, IReadOnlyList<string> Modalities, string Status,
    DateTimeOffset CreatedAt, DateTimeOffset HeartbeatAt, DateTimeOffset? FinishedAt, long Processed, IReadOnlyList<JobRun> Runs);

/// <summary>One run of a job (one <c>media reprocess</c> process).</summary>
/// <param name="Run">1, 2, … within the job.</param>
/// <param name="StartedAt">UTC.</param>
/// <param name="FinishedAt">UTC, or null while running or after a kill.</param>
/// <param name="Pending">Items in scope lacking the embedding when the run started.</param>
/// <param name="Processed">Items this run embedded (persisted about once a second and at the end).</param>
/// <param name="Missing">Items this run found missing or unreadable.</param>
/// <param name="Status">See <see cref="JobStatus"/>.</param>
public sealed record JobRun(int Run, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, long Pending, long Processed, long Missing, string Status);

/// <summary>An item a job could not re-read: its source is gone, unreadable, undecodable, or no longer the catalogued bytes.</summary>
/// <param name="Seq">Catalog sequence.</param>
/// <param name="MediaId">Item id (SHA-256 hex).</param>
/// <param name="Path">The stored source.</param>
/// <param name="Reason">Why, e.g. <c>file not found</c>.</param>
/// <param name="At">When it was last found missing (UTC).</param>
public sealed record JobMissingItem(long Seq, string MediaId, string Path, string Reason, DateTimeOffset At);

/// <summary>Coverage of a job's scope: items in scope, those with the target embedding, those listed missing.</summary>
public sealed record JobCoverage(long Total, long Covered, long Missing)
{
    /// <summary>Items in scope still lacking the target embedding.</summary>
    public long Remaining => Total - Covered;
}

/// <summary>One pack version as the catalog knows it: its embeddings and whether it is the name's active version.</summary>
public sealed record PackVersionInfo(PackKey Pack, long Embeddings, bool Active);

/// <summary>
/// Reprocessing, file stamps and pack versions in the catalog (schema version 4). Thread-safe.
/// <list type="bullet">
/// <item>Embeddings added to existing items (<see cref="IMediaCatalog.AddEmbedding"/>) or dropped bump
/// <see cref="IMediaCatalog.EmbeddingGeneration"/>, which index snapshots check.</item>
/// <item>The active version of a pack name is one row (<see cref="Activate"/>): switching is one transaction.</item>
/// </list>
/// </summary>
public interface IReprocessStore
{
    /// <summary>The stamp recorded for this absolute path, or null.</summary>
    FileStamp? FindFileStamp(string path);

    /// <summary>Records stamps (a path recorded before is replaced), in one transaction.</summary>
    void RecordFileStamps(IReadOnlyList<FileStamp> stamps);

    /// <summary>
    /// Up to <paramref name="limit"/> items with sequence &gt; <paramref name="afterSeq"/>, in sequence order, of the given
    /// modalities (and collection when not null), that have no embedding of <paramref name="pack"/>.
    /// </summary>
    IReadOnlyList<CatalogItem> ItemsLacking(PackKey pack, IReadOnlyList<string> modalities, string? collection, long afterSeq, int limit);

    /// <summary>Items of the given modalities (and collection) and how many of them have an embedding of <paramref name="pack"/>
    /// (<see cref="Catalog.JobCoverage.Missing"/> is 0 here; a job's own coverage counts its missing list).</summary>
    JobCoverage Coverage(PackKey pack, IReadOnlyList<string> modalities, string? collection);

    /// <summary>Coverage of a job's scope, with its currently listed missing items.</summary>
    /// <exception cref="ArgumentException">No such job.</exception>
    JobCoverage JobCoverage(long jobId);

    /// <summary>
    /// Starts a run of the reprocessing job for this pack@version and scope: the job not yet completed with the same pack,
    /// collection and modalities when there is one (a re-run continues it), else a new job. Returns the job and the new
    /// run's number.
    /// </summary>
    (ReprocessJob Job, int Run) StartJobRun(PackKey pack, string? collection, IReadOnlyList<string> modalities, long pending);

    /// <summary>Persists a run's progress (processed and missing so far) and refreshes the job's heartbeat.</summary>
    void RecordJobProgress(long jobId, int run, long processed, long missing);

    /// <summary>Ends a run with a status of <see cref="JobStatus"/>; the job takes the same status.</summary>
    void FinishJobRun(long jobId, int run, long processed, long missing, string status);

    /// <summary>Lists an item as missing for a job, with the reason (replacing an earlier reason).</summary>
    void RecordMissing(long jobId, long seq, string mediaId, string path, string reason);

    /// <summary>Removes an item from a job's missing list (it was re-read after all).</summary>
    void ClearMissing(long jobId, long seq);

    /// <summary>Every job, newest first.</summary>
    IReadOnlyList<ReprocessJob> Jobs();

    /// <summary>A job's missing items in sequence order.</summary>
    IReadOnlyList<JobMissingItem> MissingItems(long jobId);

    /// <summary>The active version of a pack name, or null when none was activated.</summary>
    string? ActiveVersion(string name);

    /// <summary>Every pack version with embeddings in the catalog or activated, with counts.</summary>
    IReadOnlyList<PackVersionInfo> PackVersions();

    /// <summary>
    /// Makes <paramref name="pack"/> its name's active version, in one transaction. Unless <paramref name="force"/>, only
    /// when it covers the catalog: every item with an embedding of any version of the name has one of this version.
    /// Returns the version that was active before (null when none).
    /// </summary>
    /// <exception cref="ArgumentException">The version has no embeddings, or (without force) does not cover the catalog (the message says how many items lack it).</exception>
    string? Activate(PackKey pack, bool force = false);

    /// <summary>Deletes every embedding of <paramref name="pack"/>; returns how many. Refused for the active version.</summary>
    /// <exception cref="ArgumentException">It is its name's active version.</exception>
    long DropEmbeddings(PackKey pack);
}
