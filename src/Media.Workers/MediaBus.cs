using MassTransit;
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

    /// <summary>
    /// Registers MassTransit with the consumers of <see cref="MediaServiceOptions.Roles"/>, plus, when
    /// <paramref name="trackSubmissions"/>, a temporary endpoint that feeds results to <see cref="SubmissionTracker"/>.
    /// </summary>
    public static IServiceCollection AddMediaBus(this IServiceCollection services, MediaServiceOptions options, bool trackSubmissions)
    {
        services.AddSingleton<SubmissionTracker>();
        services.AddMassTransit(x =>
        {
            x.AddConsumer<EncodeConsumer>();
            x.AddConsumer<DetectConsumer>();
            x.AddConsumer<SearchConsumer>();
            x.AddConsumer<SubmissionResultConsumer>();
            x.AddRequestClient<SearchRequest>(new Uri($"queue:{QueryQueue}"), RequestTimeout.After(s: 120));

            switch (options.Transport.ToLowerInvariant())
            {
                case "inmemory":
                    x.UsingInMemory((context, cfg) => ConfigureEndpoints(context, cfg, options, trackSubmissions));
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
                        ConfigureEndpoints(context, cfg, options, trackSubmissions);
                    });
                    break;
                default:
                    throw new ArgumentException($"unknown transport '{options.Transport}': expected inmemory or rabbitmq");
            }
        });
        return services;
    }

    static void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator cfg, MediaServiceOptions options, bool trackSubmissions)
    {
        var roles = options.Roles;
        // Transient failures (I/O, a busy database, a broker hiccup) are retried with backoff; bad input never
        // throws (it becomes a rejected result), and what still fails lands in the endpoint's _error queue.
        void Retry(IReceiveEndpointConfigurator e) => e.UseMessageRetry(r => r.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(300)));
        if ((roles & WorkerRoles.Encode) != 0)
        {
            cfg.ReceiveEndpoint(EncodeQueue, e =>
            {
                Retry(e);
                e.PrefetchCount = options.EncodeBatchSize * (options.EncodeConcurrency + 1);
                e.ConfigureConsumer<EncodeConsumer>(context, c => c.Options<BatchOptions>(o => o
                    .SetMessageLimit(options.EncodeBatchSize)
                    .SetTimeLimit(options.EncodeBatchTimeLimit)
                    .SetConcurrencyLimit(options.EncodeConcurrency)));
            });
        }
        if ((roles & WorkerRoles.Detect) != 0)
        {
            cfg.ReceiveEndpoint(DetectQueue, e =>
            {
                Retry(e);
                // Many messages in hand so that out-of-order arrivals can wait for their turn; processing is serial.
                e.PrefetchCount = options.DetectConcurrency;
                e.ConcurrentMessageLimit = options.DetectConcurrency;
                e.ConfigureConsumer<DetectConsumer>(context);
            });
        }
        if ((roles & WorkerRoles.Query) != 0)
            cfg.ReceiveEndpoint(QueryQueue, e =>
            {
                e.ConcurrentMessageLimit = Environment.ProcessorCount;
                e.ConfigureConsumer<SearchConsumer>(context);
            });
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
                });
            else
                cfg.ReceiveEndpoint(new TemporaryEndpointDefinition(), e => e.ConfigureConsumer<SubmissionResultConsumer>(context));
        }
    }
}
