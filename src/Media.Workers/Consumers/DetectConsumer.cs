using MassTransit;
using Media.Application;
using Media.Contracts.V1;
using Media.Detection;
using Media.Domain;

namespace Media.Workers.Consumers;

/// <summary>
/// Detect role: each <see cref="MediaEncoded"/>, admitted in its submitter's order → catalog + index → the final
/// <see cref="MediaProcessed"/>, plus one event per flag (<see cref="ExactDuplicateDetected"/>, <see cref="NearDuplicateDetected"/>,
/// <see cref="AnomalyDetected"/>, <see cref="ConceptMatched"/>, <see cref="ClassificationMatched"/>, <see cref="BankMatched"/>) or <see cref="MediaRejected"/>.
/// A message is acknowledged only after it is processed, so waiting for its turn loses nothing. Its turn ends once it
/// has its place in the <see cref="DetectionQueue"/>, so the next item of its submitter can join the same batch (group
/// commit) rather than wait for this one's commit.
/// </summary>
public sealed class DetectConsumer(DetectionQueue detection, SequenceGate sequence) : IConsumer<MediaEncoded>
{
    public async Task Consume(ConsumeContext<MediaEncoded> context)
    {
        var item = context.Message;
        await sequence.WaitTurnAsync(item.CorrelationId, item.Sequence, context.CancellationToken);
        Task<Media.Catalog.SubmissionRecord> processed;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            processed = detection.ProcessAsync(item);
        }
        finally
        {
            sequence.Done(item.CorrelationId, item.Sequence);
        }
        var result = await processed;
        MediaMetrics.DetectDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        var status = result.Status.Name();
        MediaMetrics.Items.Add(1, new KeyValuePair<string, object?>("status", status));
        if (result.Status == SubmissionStatus.Rejected)
            MediaMetrics.Rejected.Add(1, new("reason", MediaMetrics.ReasonOf(result.Error)), new("stage", "detect"));
        foreach (var evt in result.Events()) await context.Publish(evt, evt.GetType(), context.CancellationToken);
        await context.Publish(result.ToMessage(), context.CancellationToken);
    }
}

/// <summary>The detect endpoint: many messages in hand so that out-of-order arrivals can wait for their turn and a burst fills a batch; decisions are serial.</summary>
public sealed class DetectConsumerDefinition : ConsumerDefinition<DetectConsumer>
{
    readonly MediaServiceOptions _options;

    public DetectConsumerDefinition(MediaServiceOptions options)
    {
        _options = options;
        EndpointName = MediaBus.DetectQueue;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<DetectConsumer> consumer, IRegistrationContext context)
    {
        MediaBus.UseRetry(endpoint);
        endpoint.PrefetchCount = _options.DetectConcurrency;
        endpoint.ConcurrentMessageLimit = _options.DetectConcurrency;
    }
}
