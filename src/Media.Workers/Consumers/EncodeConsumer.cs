using MassTransit;
using Media.Contracts.V1;

namespace Media.Workers.Consumers;

/// <summary>Encode role: a batch of <see cref="MediaSubmitted"/> → one <see cref="MediaEncoded"/> each (a rejected item carries its reason).</summary>
public sealed class EncodeConsumer(MediaRuntime runtime) : IConsumer<Batch<MediaSubmitted>>
{
    public async Task Consume(ConsumeContext<Batch<MediaSubmitted>> context)
    {
        var encoded = await runtime.Encoder!.EncodeAsync(context.Message.Select(m => m.Message).ToArray(), context.CancellationToken);
        foreach (var e in encoded) await context.Publish(e, context.CancellationToken);
    }
}
