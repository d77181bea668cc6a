using MassTransit;
using Media.Application;
using Media.Contracts.V1;
using Media.Workers.Consumers;
using Microsoft.Extensions.DependencyInjection;

namespace Media.Workers;

/// <summary>Queue names and MassTransit wiring of the consumers by role and transport.</summary>
public static class MediaBus
{
    public const string EncodeQueue = "media-encode";
    public const string DetectQueue = "media-detect";
    public const string QueryQueue = "media-query";
    /// <summary>Webhook fan-out: <c>MediaProcessed</c> → one <c>WebhookDelivery</c> per accepting webhook.</summary>
    public const string WebhookQueue = "media-webhooks";
    /// <summary>Webhook POSTs; failures after the last retry land in <c>media-webhook-delivery_error</c>.</summary>
    public const string WebhookDeliveryQueue = "media-webhook-delivery";
    /// <summary>Reprocessing, encode side: <c>ReprocessRequested</c> → <c>ItemReencoded</c> (encode role).</summary>
    public const string ReprocessQueue = "media-reprocess";
    /// <summary>Reprocessing, write side: <c>ItemReencoded</c> → catalog + index → <c>ItemReprocessed</c> (detect role).</summary>
    public const string ReembedQueue = "media-reembed";

    /// <summary>
    /// Registers MassTransit with the consumers of <see cref="MediaServiceOptions.Roles"/> (each configured by its
    /// <c>ConsumerDefinition</c>), plus, when <paramref name="trackSubmissions"/>, an endpoint of this process's own
    /// that feeds results to <see cref="SubmissionTracker"/>. The application services come from
    /// <see cref="MediaServices.AddMediaServices"/>. With the webhooks role and webhooks configured, the webhook consumers
    /// too (<see cref="AddWebhookConsumers"/>); a submitter that runs them in memory also tracks their outcomes
    /// (<see cref="WebhookTracker"/>), so it can wait for them before it exits.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="options">Roles and transport.</param>
    /// <param name="trackSubmissions">Feed this process's results to <see cref="SubmissionTracker"/>.</param>
    /// <param name="trackWebhookOutcomes">With <paramref name="trackSubmissions"/> in memory, also feed webhook outcomes to
    /// <see cref="WebhookTracker"/> (a submitter that exits once its work is done); false for a long-running front end, which
    /// never reads them.</param>
    public static IServiceCollection AddMediaBus(this IServiceCollection services, MediaServiceOptions options, bool trackSubmissions, bool trackWebhookOutcomes = true)
    {
        services.AddSingleton<SubmissionTracker>();
        services.AddSingleton<WebhookTracker>();
        services.AddSingleton<ReprocessTracker>();
        var webhooks = (options.Roles & WorkerRoles.Webhooks) != 0 && options.Webhooks.Endpoints.Count > 0;
        // Only in memory do deliveries die with the submitter; on a broker they wait in their queues for a webhooks worker.
        var trackWebhooks = trackSubmissions && trackWebhookOutcomes && webhooks && options.Transport.Equals("inmemory", StringComparison.OrdinalIgnoreCase);
        services.AddMassTransit(x =>
        {
            var roles = options.Roles;
            if ((roles & WorkerRoles.Encode) != 0) x.AddConsumer<EncodeConsumer, EncodeConsumerDefinition>();
            if ((roles & WorkerRoles.Detect) != 0) x.AddConsumer<DetectConsumer, DetectConsumerDefinition>();
            if ((roles & WorkerRoles.Encode) != 0) x.AddConsumer<ReprocessEncodeConsumer, ReprocessEncodeConsumerDefinition>();
            if ((roles & WorkerRoles.Detect) != 0) x.AddConsumer<ReembedConsumer, ReembedConsumerDefinition>();
            if ((roles & WorkerRoles.Query) != 0) x.AddConsumer<SearchConsumer, SearchConsumerDefinition>();
            if (webhooks) x.AddWebhookConsumers();
            x.AddConsumer<SubmissionResultConsumer>();
            x.AddConsumer<ReprocessResultConsumer>();
            if (trackWebhooks) x.AddConsumer<WebhookOutcomeConsumer>();
            x.AddRequestClient<SearchRequest>(new Uri($"queue:{QueryQueue}"), RequestTimeout.After(s: 120));

            switch (options.Transport.ToLowerInvariant())
            {
                case "inmemory":
                    x.UsingInMemory((context, cfg) => ConfigureEndpoints(context, cfg, trackSubmissions, trackWebhooks));
                    break;
                case "rabbitmq":
                    var broker = RabbitMqAddress.Parse(options.RabbitMqUri ?? "amqp://guest:guest@127.0.0.1:5672/");
                    x.UsingRabbitMq((context, cfg) =>
                    {
                        cfg.Host(broker.Host, broker.Port, broker.VirtualHost, h =>
                        {
                            h.Username(broker.Username);
                            h.Password(broker.Password);
                            h.PublisherConfirmation = true; // a publish completes only once the broker has it
                            h.RequestedConnectionTimeout(TimeSpan.FromSeconds(10));
                        });
                        ConfigureEndpoints(context, cfg, trackSubmissions, trackWebhooks);
                    });
                    break;
                default:
                    throw new ArgumentException($"unknown transport '{options.Transport}': expected inmemory or rabbitmq");
            }
        });
        return services;
    }

    /// <summary>An encode-type endpoint (ingest's and reprocessing's): retries, batches of up to
    /// <see cref="MediaServiceOptions.EncodeBatchSize"/> (the largest inference batch), <see cref="MediaServiceOptions.EncodeConcurrency"/>
    /// batches in flight so decoding overlaps inference, and the prefetch that keeps them fed.</summary>
    internal static void ConfigureEncodeBatches<TConsumer>(IReceiveEndpointConfigurator endpoint, IConsumerConfigurator<TConsumer> consumer, MediaServiceOptions options)
        where TConsumer : class
    {
        UseRetry(endpoint);
        endpoint.PrefetchCount = options.EncodeBatchSize * (options.EncodeConcurrency + 1);
        consumer.Options<BatchOptions>(o => o
            .SetMessageLimit(options.EncodeBatchSize)
            .SetTimeLimit(options.EncodeBatchTimeLimit)
            .SetConcurrencyLimit(options.EncodeConcurrency));
    }

    /// <summary>
    /// Transient failures (I/O, a busy database, a broker hiccup) are retried with backoff; bad input never throws (it
    /// becomes a rejected result), and what still fails lands in the endpoint's <c>_error</c> queue.
    /// </summary>
    internal static void UseRetry(IReceiveEndpointConfigurator e) =>
        e.UseMessageRetry(r => r.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(300)));

    /// <summary>
    /// Registers the webhook consumers, each configured by its definition: <see cref="WebhookFanOutConsumer"/> on
    /// <see cref="WebhookQueue"/> and <see cref="WebhookDeliveryConsumer"/> on <see cref="WebhookDeliveryQueue"/>. They need
    /// <see cref="WebhookSettings"/> and <see cref="WebhookSender"/> in the container (<see cref="MediaServices.AddWebhooks"/>).
    /// </summary>
    public static IBusRegistrationConfigurator AddWebhookConsumers(this IBusRegistrationConfigurator x)
    {
        x.AddConsumer<WebhookFanOutConsumer, WebhookFanOutConsumerDefinition>();
        x.AddConsumer<WebhookDeliveryConsumer, WebhookDeliveryConsumerDefinition>();
        return x;
    }

    static void ConfigureEndpoints<T>(IBusRegistrationContext context, IBusFactoryConfigurator<T> cfg, bool trackSubmissions, bool trackWebhooks) where T : IReceiveEndpointConfigurator
    {
        cfg.ConfigureEndpoints(context, filter => filter.Exclude(typeof(SubmissionResultConsumer), typeof(WebhookOutcomeConsumer), typeof(ReprocessResultConsumer)));
        if (trackSubmissions)
        {
            // A durable queue of this submitter's own, so results published while the broker restarts are kept;
            // RabbitMQ deletes it after an hour unused (x-expires). In memory a temporary endpoint does.
            if (cfg is IRabbitMqBusFactoryConfigurator rabbit)
                rabbit.ReceiveEndpoint($"media-results-{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}", e =>
                {
                    e.Durable = true;
                    e.AutoDelete = false;
                    e.SetQueueArgument("x-expires", (int)TimeSpan.FromHours(1).TotalMilliseconds);
                    e.ConfigureConsumer<SubmissionResultConsumer>(context);
                    e.ConfigureConsumer<ReprocessResultConsumer>(context);
                });
            else
                cfg.ReceiveEndpoint(new TemporaryEndpointDefinition(), e =>
                {
                    e.ConfigureConsumer<SubmissionResultConsumer>(context);
                    e.ConfigureConsumer<ReprocessResultConsumer>(context);
                    if (trackWebhooks) e.ConfigureConsumer<WebhookOutcomeConsumer>(context);
                });
        }
    }
}
