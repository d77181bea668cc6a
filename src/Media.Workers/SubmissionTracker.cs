using System.Collections.Concurrent;
using MassTransit;
using Media.Application;
using Media.Contracts.V1;

namespace Media.Workers;

/// <summary>
/// Lets a submitter await the final <see cref="MediaProcessed"/> of each of its submissions. Results for other
/// correlation ids are ignored; a second result for the same submission (a redelivery) is dropped, so the
/// submitter sees exactly one result per item. An entry is forgotten once its result (or fault) arrived, so memory follows
/// the submissions in flight, not how many a submitter made.
/// </summary>
public sealed class SubmissionTracker
{
    readonly ConcurrentDictionary<Guid, TaskCompletionSource<MediaProcessed>> _pending = new();

    /// <summary>Called once per result; raised after the result is recorded.</summary>
    public event Action<MediaProcessed>? Completed;

    /// <summary>Registers a submission before it is published.</summary>
    public Task<MediaProcessed> Expect(Guid submissionId) =>
        _pending.GetOrAdd(submissionId, _ => new TaskCompletionSource<MediaProcessed>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Stops tracking a submission (a long-running submitter drops what it has read, so the tracker does not grow without bound).</summary>
    public void Forget(Guid submissionId) => _pending.TryRemove(submissionId, out _);

    /// <summary>Submissions tracked and not forgotten (completed or not).</summary>
    public int Count => _pending.Count;

    internal void Complete(MediaProcessed result)
    {
        if (_pending.TryRemove(result.SubmissionId, out var tcs) && tcs.TrySetResult(result)) Completed?.Invoke(result);
    }

    /// <summary>The pipeline itself failed on a submission (a consumer fault, not bad input): its waiter fails.</summary>
    internal void Fail(Guid submissionId, string error)
    {
        if (_pending.TryRemove(submissionId, out var tcs)) tcs.TrySetException(new PipelineFaultException(error));
    }
}

/// <summary>A consumer faulted on a submission; the message is in the error queue.</summary>
public sealed class PipelineFaultException(string message) : Exception(message);

/// <summary>Feeds results, and faults of the pipeline's consumers, into the <see cref="SubmissionTracker"/>.</summary>
public sealed class SubmissionResultConsumer(SubmissionTracker tracker) :
    IConsumer<MediaProcessed>, IConsumer<Fault<MediaSubmitted>>, IConsumer<Fault<MediaEncoded>>
{
    public Task Consume(ConsumeContext<MediaProcessed> context)
    {
        tracker.Complete(context.Message);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<Fault<MediaSubmitted>> context)
    {
        tracker.Fail(context.Message.Message.SubmissionId, Describe(context.Message));
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<Fault<MediaEncoded>> context)
    {
        tracker.Fail(context.Message.Message.SubmissionId, Describe(context.Message));
        return Task.CompletedTask;
    }

    static string Describe(Fault fault) => string.Join("; ", fault.Exceptions.Select(e => $"{e.ExceptionType}: {e.Message}"));
}

/// <summary>The outcome of one webhook delivery: delivered (with the receiver's status) or failed for good (with the error).</summary>
public sealed record WebhookOutcome(Guid DeliveryId, string Webhook, Guid SubmissionId, bool Delivered, int? StatusCode = null, string? Error = null);

/// <summary>
/// Lets an in-memory submitter (<c>media ingest</c>) await its webhook deliveries before it exits, since in memory a
/// delivery still queued or retrying is lost with the process. An outcome may arrive before it is awaited; both sides
/// meet on the delivery id (<see cref="WebhookPayload.DeliveryId"/>).
/// </summary>
public sealed class WebhookTracker
{
    readonly ConcurrentDictionary<Guid, TaskCompletionSource<WebhookOutcome>> _outcomes = new();

    TaskCompletionSource<WebhookOutcome> Slot(Guid deliveryId) =>
        _outcomes.GetOrAdd(deliveryId, _ => new TaskCompletionSource<WebhookOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Completes with the delivery's outcome.</summary>
    public Task<WebhookOutcome> Expect(Guid deliveryId) => Slot(deliveryId).Task;

    internal void Complete(WebhookOutcome outcome) => Slot(outcome.DeliveryId).TrySetResult(outcome);
}

/// <summary>Feeds <see cref="WebhookDelivered"/> and <c>Fault&lt;WebhookDelivery&gt;</c> into the <see cref="WebhookTracker"/>.</summary>
public sealed class WebhookOutcomeConsumer(WebhookTracker tracker) : IConsumer<WebhookDelivered>, IConsumer<Fault<WebhookDelivery>>
{
    public Task Consume(ConsumeContext<WebhookDelivered> context)
    {
        var m = context.Message;
        tracker.Complete(new WebhookOutcome(m.DeliveryId, m.Webhook, m.SubmissionId, true, m.StatusCode));
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<Fault<WebhookDelivery>> context)
    {
        var m = context.Message.Message;
        var error = string.Join("; ", context.Message.Exceptions.Select(e => e.Message));
        tracker.Complete(new WebhookOutcome(m.DeliveryId, m.Webhook, m.SubmissionId, false, Error: error));
        return Task.CompletedTask;
    }
}
