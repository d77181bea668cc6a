using MassTransit;
using Media.Contracts.V1;
using Media.Detection;

namespace Media.Workers.Consumers;

/// <summary>
/// Detect role: each <see cref="MediaEncoded"/>, admitted in its submitter's order → catalog + index → the final
/// <see cref="MediaProcessed"/>, plus <see cref="NearDuplicateDetected"/>, <see cref="AnomalyDetected"/> or <see cref="ConceptMatched"/> per flag or <see cref="MediaRejected"/>.
/// A message is acknowledged only after it is processed, so waiting for its turn loses nothing.
/// </summary>
public sealed class DetectConsumer(MediaRuntime runtime) : IConsumer<MediaEncoded>
{
    public async Task Consume(ConsumeContext<MediaEncoded> context)
    {
        var item = context.Message;
        await runtime.Sequence.WaitTurnAsync(item.CorrelationId, item.Sequence, context.CancellationToken);
        MediaProcessed result;
        try
        {
            result = runtime.Detector!.Process(item);
        }
        finally
        {
            runtime.Sequence.Done(item.CorrelationId, item.Sequence);
        }
        if (result.Status == MediaStatus.Rejected)
            await context.Publish(new MediaRejected(result.SubmissionId, result.CorrelationId, result.Path, result.Error ?? "rejected"), context.CancellationToken);
        foreach (var flag in result.Flags)
        {
            object? evt = flag.Kind switch
            {
                DuplicateDetector.NearDuplicate or DuplicateDetector.ExactDuplicate => new NearDuplicateDetected(result.SubmissionId, result.CorrelationId, result.MediaId!, result.Path, flag),
                "anomaly" => new AnomalyDetected(result.SubmissionId, result.CorrelationId, result.MediaId!, result.Path, flag),
                "concept" => new ConceptMatched(result.SubmissionId, result.CorrelationId, result.MediaId!, result.Path, flag),
                _ => null,
            };
            if (evt is not null) await context.Publish(evt, evt.GetType(), context.CancellationToken);
        }
        await context.Publish(result, context.CancellationToken);
    }
}
