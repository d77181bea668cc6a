using Media.Api;
using Media.Application;
using Media.Workers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Media.Tests.Api;

/// <summary>
/// The API in process through <see cref="WebApplicationFactory{TEntryPoint}"/>: every role plus the API on the in-memory
/// transport, over a fresh data folder with the colour fixture pack, composed by the same <see cref="ApiHost.AddMediaApi"/>
/// and <see cref="ApiHost.UseMediaApi"/> as <c>media serve --http</c>. The entry point type is the CLI's (the factory needs an
/// assembly with one); its <c>Main</c> is never run, since the host is built here.
/// </summary>
public class MediaApiFactory : WebApplicationFactory<Program>
{
    readonly TempDir _data = new();

    /// <summary>The API settings this server runs with (override for keys and limits).</summary>
    protected virtual ApiSettings Settings => new() { Fetch = new FetchSettings { AllowNetworks = [] } };

    public string DataDirectory => _data.Path;

    protected override IHostBuilder CreateHostBuilder()
    {
        var options = new MediaServiceOptions
        {
            DataDirectory = _data.Path,
            PackDirectories = [Paths.ColorClip],
            Roles = WorkerRoles.All | WorkerRoles.Api,
            Transport = "inmemory",
        };
        var settings = Settings;
        return new HostBuilder().ConfigureWebHost(web => web
            .UseContentRoot(AppContext.BaseDirectory)
            .ConfigureServices(s =>
            {
                s.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
                s.AddRouting();
                s.AddMediaServices(options);
                s.AddMediaBus(options, trackSubmissions: true, trackWebhookOutcomes: false);
                s.AddMediaApi(settings, options.DataDirectory);
            })
            .Configure(app => app.UseMediaApi()));
    }

    protected override IHost CreateHost(IHostBuilder builder)
    {
        var host = base.CreateHost(builder);
        MediaServices.Start(host.Services);
        return host;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _data.Dispose();
    }
}

/// <summary>The API with two keys configured and a small upload limit.</summary>
public sealed class KeyedMediaApiFactory : MediaApiFactory
{
    public const string Key = "test-key-0123456789abcdef";

    protected override ApiSettings Settings => new() { Keys = ["another-key-0123456789", Key], MaxUploadBytes = 64 << 10 };
}

/// <summary>The API allowed to fetch from loopback (for a local HTTP server in the fetch tests).</summary>
public sealed class LoopbackFetchMediaApiFactory : MediaApiFactory
{
    protected override ApiSettings Settings => new() { Fetch = new FetchSettings { AllowNetworks = ["127.0.0.0/8"], Timeout = TimeSpan.FromSeconds(5), MaxBytes = 1 << 20 } };
}
