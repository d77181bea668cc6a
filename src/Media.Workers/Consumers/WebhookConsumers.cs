using MassTransit;
using Media.Application;
using Media.Contracts.V1;
using Media.Detection;
using Microsoft.Extensions.Logging;

namespace Media.Workers.Consumers;

/// <summary>
/// Webhooks role, step 1: each <see cref="MediaProcessed"/> whose action a configured webhook accepts becomes one
/// <see cref="WebhookDelivery"/> per such webhook, with the JSON body built once (so every attempt posts the same bytes)
/// and a delivery id that is the same however often this result is redelivered. Results without an action publish nothing.
/// </summary>
public sealed class WebhookFanOutConsumer(WebhookSettings settings) : IConsumer<MediaProcessed>
{
    public async Task Consume(ConsumeContext<MediaProcessed> context)
    {
        var result = context.Message;
        var processedAt = context.SentTime is { } sent ? new DateTimeOffset(DateTime.SpecifyKind(sent, DateTimeKind.Utc)) : DateTimeOffset.UtcNow;
        foreach (var webhook in settings.Targets(result.Action))
        {
            var delivery = new WebhookDelivery(WebhookPayload.DeliveryId(result.SubmissionId, webhook.Name), webhook.Name, result.SubmissionId,
                ActionPolicy.Normalize(result.Action)!, WebhookPayload.Build(result, webhook.Name, processedAt));
            await context.Publish(delivery, context.CancellationToken);
        }
    }
}

/// <summary>
/// The fan-out endpoint (<c>media-webhooks</c>): the usual transient retry, and an in-memory outbox so the deliveries of a
/// result are published only once the whole fan-out succeeded (a retried fan-out does not publish half of them twice).
/// </summary>
public sealed class WebhookFanOutConsumerDefinition : ConsumerDefinition<WebhookFanOutConsumer>
{
    public WebhookFanOutConsumerDefinition() => EndpointName = MediaBus.WebhookQueue;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<WebhookFanOutConsumer> consumer, IRegistrationContext context)
    {
        MediaBus.UseRetry(endpoint);
        endpoint.UseInMemoryOutbox(context);
    }
}

/// <summary>
/// Webhooks role, step 2: POSTs one <see cref="WebhookDelivery"/> to its webhook's configured URL, signed with its secret,
/// and publishes <see cref="WebhookDelivered"/>. A failure throws, so the endpoint's retry policy tries again; a malformed
/// message, a webhook this process does not know, or a permanent HTTP answer goes to the <c>_error</c> queue at once.
/// </summary>
public sealed class WebhookDeliveryConsumer(WebhookSender sender, WebhookSettings settings, ILogger<WebhookDeliveryConsumer> log) : IConsumer<WebhookDelivery>
{
    public async Task Consume(ConsumeContext<WebhookDelivery> context)
    {
        var d = context.Message;
        if (d.DeliveryId == Guid.Empty || string.IsNullOrEmpty(d.Webhook) || string.IsNullOrEmpty(d.Body) || string.IsNullOrEmpty(d.Action))
            throw new WebhookDeliveryException("malformed WebhookDelivery: deliveryId, webhook, action and body are required", permanent: true);
        var webhook = settings.Find(d.Webhook)
            ?? throw new WebhookDeliveryException($"webhook '{d.Webhook}' is not configured in this process (Media:Webhooks)", permanent: true);
        if (!webhook.Accepts(d.Action))
        {
            // The configuration changed between fan-out and delivery: the webhook no longer wants this action.
            log.LogWarning("webhook {Webhook}: delivery {Delivery} dropped: action '{Action}' is no longer in its filter", d.Webhook, d.DeliveryId, d.Action);
            return;
        }
        var status = await sender.PostAsync(webhook, d.DeliveryId, d.Body, context.CancellationToken);
        await context.Publish(new WebhookDelivered(d.DeliveryId, d.Webhook, d.SubmissionId, status), context.CancellationToken);
    }
}

/// <summary>
/// The delivery endpoint (<c>media-webhook-delivery</c>): exponential retry per <see cref="WebhookSettings"/> (permanent
/// failures are not retried); after the last attempt MassTransit moves the message to <c>media-webhook-delivery_error</c>
/// and publishes <c>Fault&lt;WebhookDelivery&gt;</c>. At most 8 POSTs in flight.
/// </summary>
public sealed class WebhookDeliveryConsumerDefinition : ConsumerDefinition<WebhookDeliveryConsumer>
{
    readonly WebhookSettings _settings;

    public WebhookDeliveryConsumerDefinition(WebhookSettings settings)
    {
        _settings = settings;
        EndpointName = MediaBus.WebhookDeliveryQueue;
        ConcurrentMessageLimit = 8;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<WebhookDeliveryConsumer> consumer, IRegistrationContext context)
    {
        if (_settings.RetryLimit == 0) return;
        endpoint.UseMessageRetry(r =>
        {
            r.Ignore<WebhookDeliveryException>(e => e.Permanent);
            r.Exponential(_settings.RetryLimit, TimeSpan.FromMilliseconds(_settings.MinIntervalMs), TimeSpan.FromMilliseconds(_settings.MaxIntervalMs),
                TimeSpan.FromMilliseconds(_settings.IntervalDeltaMs));
        });
    }
}
