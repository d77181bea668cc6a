using System.CommandLine;
using Media.Application;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;
using Media.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media serve [--data DIR] [--pack DIR]... [--role all|encode|detect|query|webhooks|api]... [--http ADDR:PORT] [--transport rabbitmq --rabbitmq URI]</c>:
/// runs the chosen consumers (and with <c>--http</c> the HTTP API, see <see cref="ServeHttp"/>) until stopped; SIGTERM or Ctrl+C drains in-flight work, then exits 0.
/// Several processes may share the encode role (competing consumers); detect and query share the catalog on one node.
/// </summary>
static class ServeCommand
{
    public static Command Create()
    {
        var service = new ServiceOptions();
        var roles = new Option<string[]>("--role") { Description = "all, encode, detect, query, webhooks or api (repeatable; default all, plus api with --http)", AllowMultipleArgumentsPerToken = true };
        var http = new Option<string?>("--http") { Description = "Run the HTTP API (the api role) on ADDR:PORT, e.g. 127.0.0.1:8080 (port 0: any free port)" };
        var command = new Command("serve", "Run pipeline workers until stopped") { roles, http };
        service.AddTo(command);
        service.AddDetectionTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            var chosen = WorkerRoles.None;
            foreach (var r in parse.GetValue(roles) is { Length: > 0 } given ? given : ["all"])
            {
                if (!Enum.TryParse<WorkerRoles>(r, ignoreCase: true, out var role) || role == WorkerRoles.None)
                {
                    CliOutput.Error($"unknown role '{r}': expected all, encode, detect, query, webhooks or api");
                    return 2;
                }
                chosen |= role;
            }
            if (parse.GetValue(http) is { } address) return await ServeHttp.RunAsync(service, parse, chosen, address, cancel);
            if ((chosen & WorkerRoles.Api) != 0)
            {
                CliOutput.Error("the api role needs an address: give --http ADDR:PORT");
                return 2;
            }
            using var logging = CommonOptions.Logging(parse.GetValue(service.LogLevel) ?? "information");
            IHost host;
            try
            {
                var options = service.Build(parse, chosen);
                if (options.Transport == "inmemory")
                    CliOutput.Error("warning: --transport inmemory serves only this process; use --transport rabbitmq for separate workers");
                host = MediaHost.Build(options, logging, trackSubmissions: false);
            }
            catch (Exception ex) when (ex is ModelPackException or Media.Catalog.CatalogException or ExecutionProviderException or FormatException or ArgumentException or Media.Codecs.MediaRejectedException)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
            try
            {
                var options = host.Services.GetRequiredService<MediaServiceOptions>();
                IEnumerable<ModelPack> packs = host.Services.GetService<LoadedPacks>() ?? Enumerable.Empty<ModelPack>();
                Console.Error.WriteLine($"media serve: roles {chosen}, transport {options.Transport}, packs [{string.Join(", ", packs.Select(p => p.Key))}], catalog {Catalogs.Describe(options.CatalogLocation)}");
                await host.StartAsync(cancel);
                await host.WaitForShutdownAsync(CancellationToken.None); // SIGTERM/SIGINT
                Console.Error.WriteLine("media serve: draining in-flight messages");
            }
            finally
            {
                await MediaHost.StopAndDisposeAsync(host); // stop receiving, finish in-flight messages
            }
            Console.Error.WriteLine("media serve: drained, exiting");
            return 0;
        });
        return command;
    }
}
