using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MassTransit;
using Media.Catalog;
using Media.Contracts.V1;
using Media.Domain;

namespace Media.Workers;

/// <summary>
/// The state of a submission as the HTTP API reports it (<c>GET /v1/submissions/{id}</c>, and the answer of
/// <c>POST /v1/media?wait=</c>).
/// </summary>
/// <param name="Id">The submission id.</param>
/// <param name="Status"><c>pending</c> (accepted, no result yet), <c>indexed</c>, <c>duplicate</c>, <c>rejected</c> (see
/// <see cref="Error"/>) or <c>failed</c> (the pipeline itself failed on it; see <see cref="Error"/>).</param>
/// <param name="MediaId">The item's id (SHA-256 hex) once known.</param>
/// <param name="Source">The source as catalogued (the stored upload's path).</param>
/// <param name="Modality"><c>image</c> or <c>audio</c> once known.</param>
/// <param name="Action">The action resolved from the flags (e.g. <c>review</c>), or null.</param>
/// <param name="Error">Why it was rejected or failed.</param>
/// <param name="Flags">The flags it got (empty while pending).</param>
public sealed record SubmissionView(Guid Id, string Status, string? MediaId, string Source, string? Modality, string? Action, string? Error, IReadOnlyList<MediaFlag> Flags)
{
    /// <summary><c>pending</c>: no result yet.</summary>
    public const string Pending = "pending";
    /// <summary><c>failed</c>: a consumer faulted on it (not bad input).</summary>
    public const string Failed = "failed";

    /// <summary>Whether this is a final state.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsFinal => Status != Pending;
}

/// <summary>
/// Submits media from a long-running front end (the HTTP API) and answers for their state: publishes one
/// <see cref="MediaSubmitted"/> per call (its own correlation, no sequence), tracks its result through the
/// <see cref="SubmissionTracker"/>, keeps results in memory for <see cref="Retention"/>, and after that (or after a
/// restart, or for a submission of another process) answers from the catalog's record of the submission when this
/// process can read the catalog. The number awaiting a result is exported as <c>media.queue.depth{queue="submissions"}</c>.
/// Thread-safe.
/// </summary>
public sealed class MediaSubmissions : IDisposable
{
    sealed record Entry(string Source, Task<MediaProcessed> Result, DateTimeOffset Accepted);

    readonly IBus _bus;
    readonly SubmissionTracker _tracker;
    readonly Func<IMediaCatalog?> _catalog;
    readonly ConcurrentDictionary<Guid, Entry> _entries = new();
    readonly IDisposable _gauge;
    int _pending;
    DateTimeOffset _nextPrune;

    /// <summary>How long a result stays in memory after it arrived.</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromMinutes(15);

    /// <param name="bus">Publishes the submissions.</param>
    /// <param name="tracker">Receives this process's results (the host must track submissions).</param>
    /// <param name="catalog">The catalog to read older results from, or null when this process cannot read it.</param>
    public MediaSubmissions(IBus bus, SubmissionTracker tracker, Func<IMediaCatalog?> catalog)
    {
        _bus = bus;
        _tracker = tracker;
        _catalog = catalog;
        _gauge = MediaMetrics.ObserveQueue(() => [new Measurement<long>(Volatile.Read(ref _pending), new KeyValuePair<string, object?>("queue", "submissions"))]);
    }

    /// <summary>Submissions accepted by this process and awaiting their result.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Publishes a submission of <paramref name="source"/> and returns its id; the result is tracked from before the publish.</summary>
    public async Task<Guid> SubmitAsync(MediaSource source, string? collection = null, CancellationToken cancel = default)
    {
        Prune();
        var submission = new MediaSubmitted(NewId.NextGuid(), NewId.NextGuid(), source, Collection: collection);
        var result = _tracker.Expect(submission.SubmissionId);
        _entries[submission.SubmissionId] = new Entry(source.Describe(), result, DateTimeOffset.UtcNow);
        Interlocked.Increment(ref _pending);
        _ = result.ContinueWith(_ => Interlocked.Decrement(ref _pending), TaskScheduler.Default);
        try
        {
            await _bus.Publish(submission, cancel);
        }
        catch
        {
            _entries.TryRemove(submission.SubmissionId, out _);
            _tracker.Forget(submission.SubmissionId);
            Interlocked.Decrement(ref _pending);
            throw;
        }
        return submission.SubmissionId;
    }

    /// <summary>The submission's state, or null when neither this process nor the catalog knows it.</summary>
    public SubmissionView? Find(Guid id)
    {
        if (_entries.TryGetValue(id, out var e)) return View(id, e);
        IMediaCatalog? catalog;
        try
        {
            catalog = _catalog();
        }
        catch (CatalogException)
        {
            return null;
        }
        if (catalog?.FindSubmission(id) is not { } r) return null;
        return new SubmissionView(id, r.Status.Name(), r.MediaId, r.Path, r.Modality, r.Action, r.Error, [.. r.Flags.Select(f => f.ToMessage())]);
    }

    /// <summary>Waits up to <paramref name="wait"/> for the submission's result; returns its state then (still <c>pending</c> on a time-out), or null when unknown.</summary>
    public async Task<SubmissionView?> WaitAsync(Guid id, TimeSpan wait, CancellationToken cancel = default)
    {
        if (_entries.TryGetValue(id, out var e) && !e.Result.IsCompleted)
        {
            try
            {
                await e.Result.WaitAsync(wait, cancel);
            }
            catch (TimeoutException)
            {
            }
            catch (PipelineFaultException)
            {
            }
        }
        return Find(id);
    }

    static SubmissionView View(Guid id, Entry e) => e.Result.Status switch
    {
        TaskStatus.RanToCompletion => ViewOf(e.Result.Result),
        TaskStatus.Faulted => new SubmissionView(id, SubmissionView.Failed, null, e.Source, null, null, e.Result.Exception?.InnerException?.Message, []),
        _ => new SubmissionView(id, SubmissionView.Pending, null, e.Source, null, null, null, []),
    };

    static SubmissionView ViewOf(MediaProcessed r) => new(r.SubmissionId, r.Status, r.MediaId, r.Path, r.Modality, r.Action, r.Error, r.Flags);

    /// <summary>Drops results older than <see cref="Retention"/> from memory (they stay in the catalog).</summary>
    void Prune()
    {
        var now = DateTimeOffset.UtcNow;
        lock (_entries)
        {
            if (now < _nextPrune) return;
            _nextPrune = now + TimeSpan.FromMinutes(1);
        }
        var before = now - Retention;
        foreach (var (id, e) in _entries)
        {
            if (e.Result.IsCompleted && e.Accepted < before && _entries.TryRemove(id, out _)) _tracker.Forget(id);
        }
    }

    public void Dispose() => _gauge.Dispose();
}
