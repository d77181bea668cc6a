using Media.Catalog;
using Media.Detection;
using Media.Embeddings.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Media.Application;

/// <summary>
/// Registers the application services a process's roles need, and nothing else: a submitter on a broker loads no
/// encoders, an encode worker no indexes, a query worker no detector.
/// <list type="table">
/// <item><term>any role</term><description><see cref="LoadedPacks"/></description></item>
/// <item><term>encode</term><description><see cref="EncodeStage"/>; without detect or query also a <see cref="CatalogLookup"/>, so bytes already catalogued are not encoded again</description></item>
/// <item><term>detect</term><description><see cref="IMediaCatalog"/>, <see cref="IndexedCatalog"/>, <see cref="SequenceGate"/>, <see cref="DuplicateDetector"/> behind a <see cref="DetectionQueue"/> (group commit) with the anomaly rule, the policy's concept and classification rules (<see cref="PolicyRules"/>) and the hash bank rule</description></item>
/// <item><term>query</term><description><see cref="IMediaCatalog"/>, <see cref="IndexedCatalog"/>, <see cref="SearchService"/></description></item>
/// <item><term>webhooks</term><description>when webhooks are configured: <see cref="WebhookSettings"/>, <see cref="WebhookSender"/> and its <c>HttpClient</c></description></item>
/// </list>
/// Every service is a singleton that the container owns and disposes. <see cref="Start"/> builds them at once, so a
/// bad pack or catalog fails the start rather than the first message.
/// </summary>
public static class MediaServices
{
    public static IServiceCollection AddMediaServices(this IServiceCollection services, MediaServiceOptions options)
    {
        services.AddSingleton(options);
        var roles = options.Roles;
        if (roles == WorkerRoles.None) return services;
        services.AddSingleton(sp => new LoadedPacks(options.PackDirectories, options.Sessions, sp.GetRequiredService<ILoggerFactory>()));
        var indexes = (roles & (WorkerRoles.Detect | WorkerRoles.Query)) != 0;
        if (indexes)
        {
            services.AddSingleton(_ => Catalogs.Open(options.CatalogLocation));
            services.AddSingleton(sp => new IndexedCatalog(sp.GetRequiredService<IMediaCatalog>(), options.Index with
            {
                // A shared catalog has no node-local snapshot: each node builds its indexes from the catalog at start.
                SnapshotFile = options.Catalog is null ? Path.Combine(options.DataDirectory, "index.snapshot") : null,
            }, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Media.Index")));
            services.AddHostedService<IndexSnapshotter>();
            services.AddSingleton(sp => new ActivePacks(sp.GetRequiredService<LoadedPacks>(),
                name => (sp.GetRequiredService<IMediaCatalog>() as IReprocessStore)?.ActiveVersion(name)));
        }
        if ((roles & WorkerRoles.Encode) != 0)
        {
            var log = (IServiceProvider sp) => sp.GetRequiredService<ILoggerFactory>().CreateLogger("Media.Encode");
            if (!indexes) services.AddSingleton(sp => new CatalogLookup(options.CatalogLocation, log(sp)));
            services.AddSingleton(sp =>
            {
                // In memory when this process indexes; otherwise one lookup in the shared catalog per item.
                Func<string, bool> isCatalogued;
                if (indexes)
                {
                    var indexed = sp.GetRequiredService<IndexedCatalog>();
                    isCatalogued = sha => indexed.Find(sha) is not null;
                }
                else isCatalogued = sp.GetRequiredService<CatalogLookup>().Contains;
                return new EncodeStage(sp.GetRequiredService<LoadedPacks>(), isCatalogued, options.Encode with { MaxBatch = options.EncodeBatchSize }, logger: log(sp));
            });
        }
        if ((roles & WorkerRoles.Detect) != 0)
        {
            // A submitter's order is kept per process; on a shared catalog its items are spread over many detect nodes.
            services.AddSingleton(_ => new SequenceGate(options.SequenceGapTimeout, ordered: options.Catalog is null));
            services.AddSingleton(sp =>
            {
                var store = sp.GetRequiredService<IndexedCatalog>();
                var allowNonSemantic = options.AllowNonSemantic || options.Detection.Anomaly.AllowNonSemantic;
                var rules = new List<IFlagRule> { new AnomalyRule(store, options.Detection.Anomaly with { AllowNonSemantic = allowNonSemantic }) };
                if (options.PolicyFile is { } policy)
                    rules.AddRange(PolicyRules.Load(policy, sp.GetRequiredService<LoadedPacks>(), options.AllowNonSemantic));
                // Hash banks live in the catalog's store; a catalog without banks simply has no bank rule.
                if (sp.GetRequiredService<IMediaCatalog>() is IHashBankStore banks)
                    rules.Add(new HashBankRule(banks, options.Detection, options.Index.NewPdqIndex, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Media.Banks")));
                return new DuplicateDetector(store, options.Detection, rules, sp.GetRequiredService<ActivePacks>().IsActive);
            });
            services.AddSingleton(sp => new DetectionQueue(sp.GetRequiredService<DuplicateDetector>()));
        }
        if ((roles & WorkerRoles.Query) != 0)
            services.AddSingleton(sp => new SearchService(sp.GetRequiredService<IndexedCatalog>(), sp.GetRequiredService<LoadedPacks>(),
                isActive: sp.GetRequiredService<ActivePacks>().IsActive));
        if ((roles & WorkerRoles.Webhooks) != 0 && options.Webhooks.Endpoints.Count > 0) services.AddWebhooks(options.Webhooks);
        return services;
    }

    /// <summary>
    /// Registers <paramref name="settings"/>, <see cref="WebhookSender"/> and the named <c>HttpClient</c> it posts with:
    /// the configured per-attempt timeout (connect included), no redirects (a signed POST is never turned into a GET or
    /// sent elsewhere), connections recycled every 2 minutes so DNS changes are seen, and no per-request logging (URLs
    /// may carry tokens).
    /// </summary>
    public static IServiceCollection AddWebhooks(this IServiceCollection services, WebhookSettings settings)
    {
        services.AddSingleton(settings);
        services.AddSingleton<WebhookSender>();
        services.AddHttpClient(WebhookSender.ClientName, c =>
            {
                c.Timeout = settings.Timeout;
                c.DefaultRequestHeaders.UserAgent.ParseAdd("media-webhooks/1");
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                ConnectTimeout = settings.Timeout,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            })
            .RemoveAllLoggers();
        return services;
    }

    /// <summary>Builds every service the roles registered, so that loading errors surface now.</summary>
    /// <exception cref="Media.Embeddings.Packs.ModelPackException">A pack fails to load.</exception>
    /// <exception cref="Media.Embeddings.Runtime.ExecutionProviderException">The device cannot engage.</exception>
    /// <exception cref="CatalogException">The catalog cannot be opened.</exception>
    /// <exception cref="FormatException">The policy file, the action policy or the webhook settings are invalid.</exception>
    /// <exception cref="ArgumentException">The policy cannot be used with the loaded packs.</exception>
    /// <exception cref="Media.Codecs.MediaRejectedException">A concept example cannot be decoded.</exception>
    public static void Start(IServiceProvider services)
    {
        var roles = services.GetRequiredService<MediaServiceOptions>().Roles;
        if (roles == WorkerRoles.None) return;
        var packs = services.GetRequiredService<LoadedPacks>();
        // Towers open lazily; a role opens the ones it will use now. Encoding needs the image and audio towers, queries
        // every tower (text, image or audio queries); detection alone needs none but those its policy's prompts use.
        foreach (var pack in packs)
            pack.LoadTowers(image: (roles & (WorkerRoles.Encode | WorkerRoles.Query)) != 0, text: (roles & WorkerRoles.Query) != 0,
                audio: (roles & (WorkerRoles.Encode | WorkerRoles.Query)) != 0);
        if ((roles & WorkerRoles.Encode) != 0) services.GetRequiredService<EncodeStage>();
        if ((roles & WorkerRoles.Detect) != 0)
        {
            services.GetRequiredService<MediaServiceOptions>().Detection.Actions.Validated();
            services.GetRequiredService<DetectionQueue>();
        }
        if ((roles & WorkerRoles.Webhooks) != 0) services.GetService<WebhookSettings>()?.Validated();
        if ((roles & WorkerRoles.Query) != 0) services.GetRequiredService<SearchService>();
    }
}
