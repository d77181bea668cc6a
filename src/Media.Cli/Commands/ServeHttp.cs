using System.CommandLine;
using Media.Api;
using Media.Application;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;
using Media.Workers;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media serve --http ADDR:PORT</c>: the chosen roles (default all) plus the HTTP API in one process. With the in-memory
/// transport that is the whole service; on RabbitMQ, <c>--role api</c> alone only publishes submissions, reads the catalog
/// under <c>--data</c> and sends searches to the query role of another node. Prints <c>media serve: listening on URL</c> on
/// stderr once it accepts connections.
/// </summary>
static class ServeHttp
{
    public static async Task<int> RunAsync(ServiceOptions service, ParseResult parse, WorkerRoles chosen, string address, CancellationToken cancel)
    {
        // --http alone means every role plus the API; --role api (on a broker) means the API only.
        var roles = chosen | WorkerRoles.Api;
        using var logging = CommonOptions.Logging(parse.GetValue(service.LogLevel) ?? "information");
        Microsoft.AspNetCore.Builder.WebApplication app;
        string notice;
        MediaServiceOptions options;
        try
        {
            options = service.Build(parse, roles);
            app = ApiHost.Build(options, ApiSettings.FromConfiguration(CommonOptions.Configuration), address, logging, out notice);
        }
        catch (Exception ex) when (ex is ModelPackException or Media.Catalog.CatalogException or ExecutionProviderException or FormatException or ArgumentException or Media.Codecs.MediaRejectedException)
        {
            CliOutput.Error(ex.Message);
            return 2;
        }
        try
        {
            IEnumerable<ModelPack> packs = app.Services.GetService<LoadedPacks>() ?? Enumerable.Empty<ModelPack>();
            Console.Error.WriteLine($"media serve: roles {roles}, transport {options.Transport}, packs [{string.Join(", ", packs.Select(p => p.Key))}], catalog {Catalogs.Describe(options.CatalogLocation)}");
            if (notice.Length > 0) Console.Error.WriteLine($"media serve: {notice}");
            await app.StartAsync(cancel);
            foreach (var url in app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
                Console.Error.WriteLine($"media serve: listening on {url}");
            await app.WaitForShutdownAsync(CancellationToken.None);
            Console.Error.WriteLine("media serve: draining in-flight messages");
        }
        catch (IOException ex)
        {
            CliOutput.Error($"cannot listen on {address}: {ex.Message}");
            return 2;
        }
        finally
        {
            await MediaHost.StopAndDisposeAsync(app);
        }
        Console.Error.WriteLine("media serve: drained, exiting");
        return 0;
    }
}
