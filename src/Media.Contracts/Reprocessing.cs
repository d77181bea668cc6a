namespace Media.Contracts.V1;

/// <summary>Outcome names of one reprocessed item (<see cref="ItemReprocessed.Status"/>).</summary>
public static class ReprocessStatus
{
    /// <summary>The item now has an embedding of the job's pack@version, written by this request.</summary>
    public const string Embedded = "embedded";
    /// <summary>The item already had one (another worker or an earlier run wrote it); nothing was written.</summary>
    public const string AlreadyEmbedded = "already_embedded";
    /// <summary>Its stored source is gone, unreadable, undecodable or no longer the catalogued bytes; <c>Reason</c> says which.</summary>
    public const string Missing = "missing";
}

/// <summary>
/// Re-read a catalogued item from its stored source and embed it with one pack@version (a reprocessing job, <c>media
/// reprocess</c>). Consumed by the encode role (queue <c>media-reprocess</c>), so the encode workers on a broker share a job.
/// </summary>
/// <param name="SubmissionId">Unique per request; the result carries it back.</param>
/// <param name="CorrelationId">The reprocessing run's id.</param>
/// <param name="JobId">The catalog's job id.</param>
/// <param name="Seq">The item's catalog sequence.</param>
/// <param name="MediaId">The item's id (SHA-256 hex): the bytes read must still hash to it.</param>
/// <param name="Source">The item's stored source.</param>
/// <param name="Pack">The target <c>name@version</c>; the encode worker must have it loaded.</param>
/// <param name="Modality">The item's modality.</param>
public sealed record ReprocessRequested(Guid SubmissionId, Guid CorrelationId, long JobId, long Seq, string MediaId, MediaSource Source, string Pack,
    string? Modality = null);

/// <summary>The encode role's answer to <see cref="ReprocessRequested"/>: the embedding, or why the source could not be used. Consumed by the detect role, which writes it.</summary>
/// <param name="SubmissionId">The request's id.</param>
/// <param name="CorrelationId">The run's id.</param>
/// <param name="JobId">The catalog's job id.</param>
/// <param name="Seq">The item's catalog sequence.</param>
/// <param name="MediaId">The item's id.</param>
/// <param name="Path">The source, described.</param>
/// <param name="Embedding">The item's embedding with the job's pack@version; null with <paramref name="Error"/>.</param>
/// <param name="Error">Why the item could not be re-read (e.g. the file is gone, or its bytes changed).</param>
public sealed record ItemReencoded(Guid SubmissionId, Guid CorrelationId, long JobId, long Seq, string MediaId, string Path, PackEmbedding? Embedding,
    string? Error = null);

/// <summary>The final result of one <see cref="ReprocessRequested"/>: exactly one per request.</summary>
/// <param name="SubmissionId">The request's id.</param>
/// <param name="CorrelationId">The run's id.</param>
/// <param name="JobId">The catalog's job id.</param>
/// <param name="Seq">The item's catalog sequence.</param>
/// <param name="MediaId">The item's id.</param>
/// <param name="Path">The source, described.</param>
/// <param name="Status">See <see cref="ReprocessStatus"/>.</param>
/// <param name="Reason">For <see cref="ReprocessStatus.Missing"/>: why.</param>
public sealed record ItemReprocessed(Guid SubmissionId, Guid CorrelationId, long JobId, long Seq, string MediaId, string Path, string Status,
    string? Reason = null);
