using System.Collections.Concurrent;
using MassTransit;
using Media.Contracts.V1;

namespace Media.Workers;

/// <summary>
/// Lets a reprocessing run await the <see cref="ItemReprocessed"/> of each of its requests, like <see cref="SubmissionTracker"/>
/// for ingest. An entry is forgotten once its result arrived, so memory follows the requests in flight, not the job's size.
/// </summary>
public sealed class ReprocessTracker
{
    readonly ConcurrentDictionary<Guid, TaskCompletionSource<ItemReprocessed>> _pending = new();

    /// <summary>Registers a request before it is published.</summary>
    public Task<ItemReprocessed> Expect(Guid submissionId) =>
        _pending.GetOrAdd(submissionId, _ => new TaskCompletionSource<ItemReprocessed>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    internal void Complete(ItemReprocessed result)
    {
        if (_pending.TryRemove(result.SubmissionId, out var tcs)) tcs.TrySetResult(result);
    }

    internal void Fail(Guid submissionId, string error)
    {
        if (_pending.TryRemove(submissionId, out var tcs)) tcs.TrySetException(new PipelineFaultException(error));
    }
}

/// <summary>Feeds reprocessing results, and faults of its consumers, into the <see cref="ReprocessTracker"/>.</summary>
public sealed class ReprocessResultConsumer(ReprocessTracker tracker) :
    IConsumer<ItemReprocessed>, IConsumer<Fault<ReprocessRequested>>, IConsumer<Fault<ItemReencoded>>
{
    public Task Consume(ConsumeContext<ItemReprocessed> context)
    {
        tracker.Complete(context.Message);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<Fault<ReprocessRequested>> context)
    {
        tracker.Fail(context.Message.Message.SubmissionId, Describe(context.Message));
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<Fault<ItemReencoded>> context)
    {
        tracker.Fail(context.Message.Message.SubmissionId, Describe(context.Message));
        return Task.CompletedTask;
    }

    static string Describe(Fault fault) => string.Join("; ", fault.Exceptions.Select(e => $"{e.ExceptionType}: {e.Message}"));
}
