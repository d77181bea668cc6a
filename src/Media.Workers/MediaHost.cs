using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Media.Workers;

/// <summary>Builds a generic host running the media consumers for the configured roles and transport.</summary>
public static class MediaHost
{
    /// <summary>Loads the runtime (packs, catalog) and builds the host; start it with <c>StartAsync</c>.</summary>
    /// <exception cref="Media.Embeddings.Packs.ModelPackException">A pack fails to load.</exception>
    public static IHost Build(MediaServiceOptions options, ILoggerFactory logging, bool trackSubmissions)
    {
        var runtime = new MediaRuntime(options, logging);
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(logging);
        builder.Services.AddLogging();
        builder.Services.AddSingleton(runtime);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddMediaBus(options, trackSubmissions);
        return builder.Build();
    }
}
