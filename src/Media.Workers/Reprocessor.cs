using MassTransit;
using Media.Catalog;
using Media.Contracts.V1;
using Media.Domain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Media.Workers;

/// <summary>What one reprocessing run is to do.</summary>
/// <param name="Pack">The target pack@version (loaded by the encode workers).</param>
/// <param name="Modalities">The modalities it embeds (those it has towers for).</param>
/// <param name="Collection">Only items of this collection, or null for the whole catalog.</param>
/// <param name="MaxInFlight">Requests without a result at once (back-pressure; memory follows this, not the catalog's size).</param>
public sealed record ReprocessOptions(PackKey Pack, IReadOnlyList<string> Modalities, string? Collection = null, int MaxInFlight = 256);

/// <summary>Progress of a run: items this run has embedded, found already embedded, and found missing, of those pending at its start.</summary>
public sealed record ReprocessProgress(long JobId, int Run, long Pending, long Processed, long AlreadyEmbedded, long Missing)
{
    public long Done => Processed + AlreadyEmbedded + Missing;
}

/// <summary>The end of a run.</summary>
/// <param name="Job">The job as stored after the run (status, runs).</param>
/// <param name="Run">This run's number within the job.</param>
/// <param name="Progress">What this run did.</param>
/// <param name="Coverage">The job's scope after the run: items, items with the embedding, items listed missing.</param>
/// <param name="Missing">The job's missing items after the run, with reasons.</param>
/// <param name="Failure">The pipeline failure that stopped the run, or null.</param>
public sealed record ReprocessOutcome(ReprocessJob Job, int Run, ReprocessProgress Progress, JobCoverage Coverage, IReadOnlyList<JobMissingItem> Missing, string? Failure);

/// <summary>
/// Runs one reprocessing job to its end through the bus: every catalogued item in scope lacking an embedding of the
/// target pack@version is re-read from its stored source by the encode role (<see cref="ReprocessRequested"/>) and the
/// embedding written by the detect role. The catalog is the progress record: items are taken in sequence order, a page
/// at a time, among those still lacking the embedding, so a run killed at any point is continued by the next run
/// (<see cref="IReprocessStore.StartJobRun"/> picks the unfinished job up) without redoing an item, and the embeddings
/// table's key keeps one embedding per item and pack@version whatever races. Items whose source is gone or unreadable
/// are listed with the reason (<see cref="IReprocessStore.RecordMissing"/>), retried by the next run, and never counted done.
/// </summary>
public static class Reprocessor
{
    const int PageSize = 512;
    static readonly TimeSpan PersistEvery = TimeSpan.FromSeconds(1);

    /// <summary>Runs the job; <paramref name="progress"/> is called about once a second and at the end, <paramref name="missing"/>
    /// once per item found missing in this run. The host must track results (<see cref="MediaHost.Build"/> with trackSubmissions).</summary>
    /// <exception cref="OperationCanceledException">Cancelled (the run is recorded as failed first).</exception>
    public static async Task<ReprocessOutcome> RunAsync(IHost host, IReprocessStore store, ReprocessOptions options,
        Action<ReprocessProgress>? progress = null, Action<JobMissingItem>? missing = null, CancellationToken cancel = default)
    {
        var tracker = host.Services.GetRequiredService<ReprocessTracker>();
        var bus = host.Services.GetRequiredService<IBus>();
        var pending = store.Coverage(options.Pack, options.Modalities, options.Collection).Remaining;
        var (job, run) = store.StartJobRun(options.Pack, options.Collection, options.Modalities, pending);
        var previouslyMissing = store.MissingItems(job.Id).Select(m => m.Seq).ToHashSet();
        var correlation = NewId.NextGuid();
        var pack = options.Pack.ToString();
        long processed = 0, already = 0, missed = 0;
        string? failure = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var slots = new SemaphoreSlim(Math.Max(1, options.MaxInFlight));
        var outstanding = 1;
        var allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ReprocessProgress Snapshot() => new(job.Id, run, pending, Interlocked.Read(ref processed), Interlocked.Read(ref already), Interlocked.Read(ref missed));

        void Finished(Task<ItemReprocessed> t, CatalogItem item)
        {
            try
            {
                if (t.IsCompletedSuccessfully)
                {
                    var r = t.Result;
                    switch (r.Status)
                    {
                        case ReprocessStatus.Missing:
                            Interlocked.Increment(ref missed);
                            store.RecordMissing(job.Id, item.Seq, item.Id, item.Path, r.Reason ?? "unreadable");
                            missing?.Invoke(new JobMissingItem(item.Seq, item.Id, item.Path, r.Reason ?? "unreadable", DateTimeOffset.UtcNow));
                            break;
                        case ReprocessStatus.Embedded:
                            Interlocked.Increment(ref processed);
                            if (previouslyMissing.Contains(item.Seq)) store.ClearMissing(job.Id, item.Seq);
                            break;
                        default:
                            Interlocked.Increment(ref already);
                            if (previouslyMissing.Contains(item.Seq)) store.ClearMissing(job.Id, item.Seq);
                            break;
                    }
                }
                else if (t.Exception?.InnerException is { } ex)
                {
                    Interlocked.CompareExchange(ref failure, ex.Message, null);
                    stop.Cancel();
                }
            }
            finally
            {
                slots.Release();
                if (Interlocked.Decrement(ref outstanding) == 0) allDone.TrySetResult();
            }
        }

        using var heartbeat = new PeriodicTimer(PersistEvery);
        var persisting = Task.Run(async () =>
        {
            try
            {
                while (await heartbeat.WaitForNextTickAsync(stop.Token))
                {
                    var p = Snapshot();
                    store.RecordJobProgress(job.Id, run, p.Processed, p.Missing);
                    progress?.Invoke(p);
                }
            }
            catch (OperationCanceledException) { }
        });

        try
        {
            var after = 0L;
            while (!stop.IsCancellationRequested)
            {
                var page = store.ItemsLacking(options.Pack, options.Modalities, options.Collection, after, PageSize);
                if (page.Count == 0) break;
                foreach (var item in page)
                {
                    await slots.WaitAsync(stop.Token);
                    after = item.Seq;
                    var request = new ReprocessRequested(NewId.NextGuid(), correlation, job.Id, item.Seq, item.Id, Source(item.Path), pack, item.Modality);
                    var waiter = tracker.Expect(request.SubmissionId);
                    Interlocked.Increment(ref outstanding);
                    _ = waiter.ContinueWith(t => Finished(t, item), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    await bus.Publish(request, stop.Token);
                }
            }
            if (Interlocked.Decrement(ref outstanding) == 0) allDone.TrySetResult();
            await allDone.Task.WaitAsync(stop.Token);
        }
        catch (OperationCanceledException) when (failure is not null && !cancel.IsCancellationRequested)
        {
            // A pipeline failure stopped the run; what finished is in the catalog, the rest waits for the next run.
        }
        catch (OperationCanceledException)
        {
            var p = Snapshot();
            store.FinishJobRun(job.Id, run, p.Processed, p.Missing, JobStatus.Failed);
            throw;
        }
        finally
        {
            await stop.CancelAsync();
            await persisting;
        }

        var final = Snapshot();
        var coverage = store.JobCoverage(job.Id);
        var status = failure is not null ? JobStatus.Failed : coverage.Remaining == 0 ? JobStatus.Completed : JobStatus.Incomplete;
        store.FinishJobRun(job.Id, run, final.Processed, final.Missing, status);
        progress?.Invoke(final);
        var stored = store.Jobs().First(j => j.Id == job.Id);
        return new ReprocessOutcome(stored, run, final, coverage, store.MissingItems(job.Id), failure);
    }

    /// <summary>A stored source: a URI as such, an inline item (not re-readable) as its description, otherwise a path.</summary>
    static MediaSource Source(string stored) =>
        Uri.TryCreate(stored, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? new MediaSource(Uri: stored) : new MediaSource(Path: stored);
}
