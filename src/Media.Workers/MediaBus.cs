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
                default:
                    throw new ArgumentException($"unknown transport '{options.Transport}': expected inmemory");
            }
        });
        return services;
    }

    static void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator cfg, MediaServiceOptions options, bool trackSubmissions)
    {
        var roles = options.Roles;
        if ((roles & WorkerRoles.Encode) != 0)
        {
            cfg.ReceiveEndpoint(EncodeQueue, e =>
            {
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
                // Many messages in hand so that out-of-order arrivals can wait for their turn; processing is serial.
                e.PrefetchCount = options.DetectConcurrency;
                e.ConcurrentMessageLimit = options.DetectConcurrency;
                e.ConfigureConsumer<DetectConsumer>(context);
            });
        }
        if ((roles & WorkerRoles.Query) != 0)
            cfg.ReceiveEndpoint(QueryQueue, e => e.ConfigureConsumer<SearchConsumer>(context));
        if (trackSubmissions)
            cfg.ReceiveEndpoint(new TemporaryEndpointDefinition(), e => e.ConfigureConsumer<SubmissionResultConsumer>(context));
    }
}
