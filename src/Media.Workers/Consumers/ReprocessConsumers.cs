using MassTransit;
using Media.Application;
using Media.Catalog;
using Media.Contracts.V1;
using Media.Detection;
using Media.Domain;
using Media.Embeddings.Pipeline;

namespace Media.Workers.Consumers;

/// <summary>
/// Encode role, reprocessing: a batch of <see cref="ReprocessRequested"/> → one <see cref="ItemReencoded"/> each, through
/// the same <see cref="EncodeStage"/> (decode slots, inference batchers) as ingest, with catalogued bytes encoded all the
/// same and only the requested pack@version. An item whose source cannot be read, or whose bytes no longer hash to its
/// id, is answered with the reason. A request for a pack@version this worker has not loaded throws (a configuration
/// error, not a property of the item), so it is retried and then faults.
/// </summary>
public sealed class ReprocessEncodeConsumer(EncodeStage encoder, LoadedPacks packs) : IConsumer<Batch<ReprocessRequested>>
{
    public async Task Consume(ConsumeContext<Batch<ReprocessRequested>> context)
    {
        var requests = context.Message.Select(m => m.Message).ToArray();
        foreach (var key in requests.Select(r => r.Pack).Distinct())
            if (!packs.Any(p => p.Key.ToString() == key))
                throw new InvalidOperationException($"this encode worker has not loaded {key} (load it with --pack)");
        var submissions = requests.Select(r => new MediaSubmitted(r.SubmissionId, r.CorrelationId, r.Source, r.MediaId, r.Modality, [r.Pack])).ToArray();
        var encoded = await encoder.EncodeAsync(submissions, reencode: true, context.CancellationToken);
        for (var i = 0; i < requests.Length; i++)
        {
            var (r, e) = (requests[i], encoded[i]);
            var error = e.Error;
            if (error is null && e.Sha256 != r.MediaId)
                error = $"the source changed: its bytes hash to {e.Sha256[..12]}…, the catalogued item's to {r.MediaId[..Math.Min(12, r.MediaId.Length)]}…";
            var embedding = error is null ? e.Embeddings.FirstOrDefault(x => $"{x.Pack}@{x.Version}" == r.Pack) : null;
            if (error is null && embedding is null) error = $"{r.Pack} has no tower for this item's modality ({e.Modality})";
            await context.Publish(new ItemReencoded(r.SubmissionId, r.CorrelationId, r.JobId, r.Seq, r.MediaId, e.Path, embedding, error), context.CancellationToken);
        }
    }
}

/// <summary>The reprocessing encode endpoint (<c>media-reprocess</c>): batched as ingest's encode endpoint.</summary>
public sealed class ReprocessEncodeConsumerDefinition : ConsumerDefinition<ReprocessEncodeConsumer>
{
    readonly MediaServiceOptions _options;

    public ReprocessEncodeConsumerDefinition(MediaServiceOptions options)
    {
        _options = options;
        EndpointName = MediaBus.ReprocessQueue;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<ReprocessEncodeConsumer> consumer, IRegistrationContext context)
    {
        MediaBus.ConfigureEncodeBatches(endpoint, consumer, _options);
    }
}

/// <summary>
/// Detect role, reprocessing: writes each <see cref="ItemReencoded"/>'s embedding to the catalog and the index of its
/// pack@version (<see cref="IndexedCatalog.AddEmbedding"/>: at most one per item and pack@version, so a redelivery or a
/// second worker writes nothing twice) and publishes <see cref="ItemReprocessed"/>.
/// </summary>
public sealed class ReembedConsumer(IndexedCatalog store) : IConsumer<ItemReencoded>
{
    public async Task Consume(ConsumeContext<ItemReencoded> context)
    {
        var m = context.Message;
        string status;
        if (m.Error is not null || m.Embedding is null) status = ReprocessStatus.Missing;
        else
        {
            var e = m.Embedding;
            status = store.AddEmbedding(m.Seq, new CatalogEmbedding(new PackKey(e.Pack, e.Version), e.Space, e.Semantic, e.Vector))
                ? ReprocessStatus.Embedded : ReprocessStatus.AlreadyEmbedded;
        }
        await context.Publish(new ItemReprocessed(m.SubmissionId, m.CorrelationId, m.JobId, m.Seq, m.MediaId, m.Path, status,
            status == ReprocessStatus.Missing ? m.Error ?? "no embedding" : null), context.CancellationToken);
    }
}

/// <summary>The reprocessing write endpoint (<c>media-reembed</c>).</summary>
public sealed class ReembedConsumerDefinition : ConsumerDefinition<ReembedConsumer>
{
    public ReembedConsumerDefinition()
    {
        EndpointName = MediaBus.ReembedQueue;
        ConcurrentMessageLimit = 4;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<ReembedConsumer> consumer, IRegistrationContext context) =>
        MediaBus.UseRetry(endpoint);
}
