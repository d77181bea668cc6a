using Media.Catalog;
using Media.Detection;
using Media.Embeddings.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Media.Application;

/// <summary>
/// Registers the application services a process's roles need, and nothing else: a submitter on a broker loads no
/// encoders, an encode worker no indexes, a query worker no detector.
/// <list type="table">
/// <item><term>any role</term><description><see cref="LoadedPacks"/>, <see cref="IMediaCatalog"/> (the encode role reads it to skip bytes already catalogued)</description></item>
/// <item><term>encode</term><description><see cref="EncodeStage"/></description></item>
/// <item><term>detect</term><description><see cref="IndexedCatalog"/>, <see cref="SequenceGate"/>, <see cref="DuplicateDetector"/> with the anomaly and concept rules</description></item>
/// <item><term>query</term><description><see cref="IndexedCatalog"/>, <see cref="SearchService"/></description></item>
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
        services.AddSingleton(_ => Catalogs.Open(options.DataDirectory));
        if ((roles & (WorkerRoles.Detect | WorkerRoles.Query)) != 0)
            services.AddSingleton(sp => new IndexedCatalog(sp.GetRequiredService<IMediaCatalog>()));
        if ((roles & WorkerRoles.Encode) != 0)
            services.AddSingleton(sp =>
            {
                var catalog = sp.GetRequiredService<IMediaCatalog>();
                var indexed = (roles & (WorkerRoles.Detect | WorkerRoles.Query)) != 0 ? sp.GetRequiredService<IndexedCatalog>() : null;
                // In memory when this process indexes; otherwise one lookup in the catalog per item.
                Func<string, bool> isCatalogued = indexed is not null ? sha => indexed.Find(sha) is not null : sha => catalog.Find(sha) is not null;
                return new EncodeStage(sp.GetRequiredService<LoadedPacks>(), isCatalogued, options.Encode with { MaxBatch = options.EncodeBatchSize },
                    logger: sp.GetRequiredService<ILoggerFactory>().CreateLogger("Media.Encode"));
            });
        if ((roles & WorkerRoles.Detect) != 0)
        {
            services.AddSingleton(_ => new SequenceGate(options.SequenceGapTimeout));
            services.AddSingleton(sp =>
            {
                var store = sp.GetRequiredService<IndexedCatalog>();
                var allowNonSemantic = options.AllowNonSemantic || options.Detection.Anomaly.AllowNonSemantic;
                var rules = new List<IFlagRule> { new AnomalyRule(store, options.Detection.Anomaly with { AllowNonSemantic = allowNonSemantic }) };
                if (options.PolicyFile is { } policy)
                    rules.Add(ConceptReferences.Load(policy, sp.GetRequiredService<LoadedPacks>(), options.AllowNonSemantic));
                return new DuplicateDetector(store, options.Detection, rules);
            });
        }
        if ((roles & WorkerRoles.Query) != 0)
            services.AddSingleton(sp => new SearchService(sp.GetRequiredService<IndexedCatalog>(), sp.GetRequiredService<LoadedPacks>()));
        return services;
    }

    /// <summary>Builds every service the roles registered, so that loading errors surface now.</summary>
    /// <exception cref="Media.Embeddings.Packs.ModelPackException">A pack fails to load.</exception>
    /// <exception cref="Media.Embeddings.Runtime.ExecutionProviderException">The device cannot engage.</exception>
    /// <exception cref="CatalogException">The catalog cannot be opened.</exception>
    /// <exception cref="FormatException">The concept policy file is invalid.</exception>
    /// <exception cref="ArgumentException">The concept policy cannot be used with the loaded packs.</exception>
    /// <exception cref="Media.Codecs.MediaRejectedException">A concept example cannot be decoded.</exception>
    public static void Start(IServiceProvider services)
    {
        var roles = services.GetRequiredService<MediaServiceOptions>().Roles;
        if (roles == WorkerRoles.None) return;
        services.GetRequiredService<LoadedPacks>();
        if ((roles & WorkerRoles.Encode) != 0) services.GetRequiredService<EncodeStage>();
        if ((roles & WorkerRoles.Detect) != 0) services.GetRequiredService<DuplicateDetector>();
        if ((roles & WorkerRoles.Query) != 0) services.GetRequiredService<SearchService>();
    }
}
