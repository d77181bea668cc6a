using MassTransit;
using Media.Application;
using Media.Contracts.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Media.Workers;

/// <summary>Builds a generic host running the media consumers for the configured roles and transport.</summary>
public static class MediaHost
{
    /// <summary>
    /// Builds the host with the application services of the configured roles and their consumers, and builds those
    /// services at once (packs, catalog, indexes), so that loading errors surface here; start it with <c>StartAsync</c>.
    /// </summary>
    /// <exception cref="Media.Embeddings.Packs.ModelPackException">A pack fails to load.</exception>
    /// <exception cref="Media.Catalog.CatalogException">The catalog cannot be opened.</exception>
    /// <remarks>Other exceptions as <see cref="MediaServices.Start"/>.</remarks>
    public static IHost Build(MediaServiceOptions options, ILoggerFactory logging, bool trackSubmissions)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(logging);
        builder.Services.AddLogging();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddMediaServices(options);
        builder.Services.AddMediaBus(options, trackSubmissions);
        var host = builder.Build();
        try
        {
            MediaServices.Start(host.Services);
        }
        catch
        {
            ((IAsyncDisposable)host).DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
        return host;
    }

    /// <summary>Stops the host (draining in-flight messages), then disposes it and every service it built.</summary>
    public static async Task StopAndDisposeAsync(IHost host)
    {
        try
        {
            await host.StopAsync(CancellationToken.None);
        }
        finally
        {
            await ((IAsyncDisposable)host).DisposeAsync();
        }
    }

    /// <summary>
    /// Publishes one <see cref="MediaSubmitted"/> per file (one correlation id, sequence numbers in file order) and
    /// returns, in file order, the tasks that complete with each item's result.
    /// </summary>
    public static async Task<Task<MediaProcessed>[]> SubmitFilesAsync(IHost host, IReadOnlyList<string> files, CancellationToken cancel = default)
    {
        var tracker = host.Services.GetRequiredService<SubmissionTracker>();
        var bus = host.Services.GetRequiredService<IBus>();
        var correlation = NewId.NextGuid();
        var waiters = new Task<MediaProcessed>[files.Count];
        for (var i = 0; i < files.Count; i++)
        {
            var submission = new MediaSubmitted(NewId.NextGuid(), correlation, new MediaSource(Path: files[i]), Sequence: i);
            waiters[i] = tracker.Expect(submission.SubmissionId);
            await bus.Publish(submission, cancel);
        }
        return waiters;
    }

    /// <summary>
    /// Publishes one <see cref="MediaSubmitted"/> per file as <paramref name="files"/> yields them (one correlation id,
    /// sequence numbers in file order), keeping at most <paramref name="maxInFlight"/> without a result: the next file is
    /// taken only when one finishes, so memory does not grow with the number of files (back-pressure). Calls
    /// <paramref name="completed"/> once per file with its finished task (a result, or <see cref="PipelineFaultException"/>),
    /// from the thread that completed it; returns when every submitted file has finished. Returns how many were submitted.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled; files in flight are abandoned.</exception>
    public static async Task<long> SubmitStreamAsync(IHost host, IEnumerable<string> files, int maxInFlight, Action<string, Task<MediaProcessed>> completed,
        CancellationToken cancel = default)
    {
        var tracker = host.Services.GetRequiredService<SubmissionTracker>();
        var bus = host.Services.GetRequiredService<IBus>();
        var correlation = NewId.NextGuid();
        var slots = new SemaphoreSlim(Math.Max(1, maxInFlight)); // not disposed: continuations may release it after a cancellation
        var outstanding = 1;
        var allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Finished()
        {
            if (Interlocked.Decrement(ref outstanding) == 0) allDone.TrySetResult();
        }
        long sequence = 0;
        foreach (var file in files)
        {
            await slots.WaitAsync(cancel);
            var submission = new MediaSubmitted(NewId.NextGuid(), correlation, new MediaSource(Path: file), Sequence: sequence++);
            var waiter = tracker.Expect(submission.SubmissionId);
            Interlocked.Increment(ref outstanding);
            _ = waiter.ContinueWith(t =>
            {
                try { completed(file, t); }
                finally
                {
                    slots.Release();
                    Finished();
                }
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            await bus.Publish(submission, cancel);
        }
        Finished();
        await allDone.Task.WaitAsync(cancel);
        return sequence;
    }

    /// <summary>
    /// The outcomes of the webhook deliveries these results cause in this process (one per result and accepting webhook,
    /// in result order), completing when each was delivered or failed for good. Empty when this process delivers no
    /// webhooks. Only meaningful where this process runs the webhooks role and tracks submissions (in-memory ingest).
    /// </summary>
    public static Task<WebhookOutcome[]> WebhookOutcomesAsync(IHost host, IEnumerable<MediaProcessed> results)
    {
        if (host.Services.GetService<WebhookSettings>() is not { } settings) return Task.FromResult<WebhookOutcome[]>([]);
        var tracker = host.Services.GetRequiredService<WebhookTracker>();
        return Task.WhenAll(results.SelectMany(r => settings.Targets(r.Action).Select(w => tracker.Expect(WebhookPayload.DeliveryId(r.SubmissionId, w.Name)))));
    }
}
