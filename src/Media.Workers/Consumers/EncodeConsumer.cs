using MassTransit;
using Media.Application;
using Media.Contracts.V1;
using Media.Embeddings.Pipeline;

namespace Media.Workers.Consumers;

/// <summary>
/// Encode role: a batch of <see cref="MediaSubmitted"/> → one <see cref="MediaEncoded"/> each (a rejected item carries
/// its reason). <see cref="EncodeStage"/> never throws for one bad item, so a batch is never lost to one of its members.
/// </summary>
public sealed class EncodeConsumer(EncodeStage encoder) : IConsumer<Batch<MediaSubmitted>>
{
    public async Task Consume(ConsumeContext<Batch<MediaSubmitted>> context)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var encoded = await encoder.EncodeAsync([.. context.Message.Select(m => m.Message)], context.CancellationToken);
        Media.Domain.MediaMetrics.EncodeDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        foreach (var e in encoded) await context.Publish(e, context.CancellationToken);
    }
}

/// <summary>The encode endpoint: batches of up to <see cref="MediaServiceOptions.EncodeBatchSize"/> (the largest inference batch), several in flight so decoding overlaps inference.</summary>
public sealed class EncodeConsumerDefinition : ConsumerDefinition<EncodeConsumer>
{
    readonly MediaServiceOptions _options;

    public EncodeConsumerDefinition(MediaServiceOptions options)
    {
        _options = options;
        EndpointName = MediaBus.EncodeQueue;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<EncodeConsumer> consumer, IRegistrationContext context)
    {
        MediaBus.ConfigureEncodeBatches(endpoint, consumer, _options);
    }
}
