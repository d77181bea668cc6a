using System.CommandLine;
using MassTransit;
using Media.Application;
using Media.Contracts.V1;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;
using Media.Workers;
using Microsoft.Extensions.DependencyInjection;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media search [--data DIR] [--pack DIR]... [--k N] [--json] (--text T | --image FILE | --audio FILE)</c>: sent as a request to the
/// query consumer; prints <c>{"query", "results": [{"id", "path", "modality", "score"}]}</c>, score = cosine similarity.
/// </summary>
static class SearchCommand
{
    public static Command Create()
    {
        var service = new ServiceOptions();
        var json = CommonOptions.Json();
        var k = new Option<int>("--k") { Description = "Number of results", DefaultValueFactory = _ => 10 };
        var text = new Option<string?>("--text") { Description = "Text query" };
        var image = new Option<string?>("--image") { Description = "Image query (file)" };
        var audio = new Option<string?>("--audio") { Description = "Audio query (file)" };
        var modality = new Option<string?>("--modality") { Description = "Only results of this modality (image, audio)" };
        var command = new Command("search", "Cross-modal search over the catalog") { json, k, text, image, audio, modality };
        service.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            var t = parse.GetValue(text);
            var i = parse.GetValue(image);
            var a = parse.GetValue(audio);
            if ((t is null ? 0 : 1) + (i is null ? 0 : 1) + (a is null ? 0 : 1) != 1)
            {
                CliOutput.Error("give exactly one of --text, --image or --audio");
                return 2;
            }
            using var logging = CommonOptions.Logging(parse.GetValue(service.LogLevel));
            Microsoft.Extensions.Hosting.IHost host;
            string? packName = null;
            try
            {
                var options = service.Build(parse, WorkerRoles.Query);
                if (options.PackDirectories.Count == 0) { CliOutput.Error("give --pack DIR (the pack the catalog was embedded with)"); return 2; }
                if (options.Transport != "inmemory")
                {
                    // The query role of a `media serve` node embeds and searches; this process only names the pack.
                    packName = ModelPack.ReadManifest(options.PackDirectories[0]).Name;
                    options = options with { Roles = WorkerRoles.None, PackDirectories = [] };
                }
                host = MediaHost.Build(options, logging, trackSubmissions: false);
            }
            catch (Exception ex) when (ex is ModelPackException or ExecutionProviderException or FormatException or ArgumentException)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
            try
            {
                await host.StartAsync(cancel);
                var client = host.Services.GetRequiredService<IRequestClient<SearchRequest>>();
                var request = new SearchRequest(Text: t, K: parse.GetValue(k), Pack: packName, Modality: parse.GetValue(modality),
                    // Over a broker the query node may be elsewhere: the image travels inline.
                    ImagePath: i is not null && packName is null ? Path.GetFullPath(i) : null,
                    Image: i is not null && packName is not null ? File.ReadAllBytes(i) : null,
                    AudioPath: a is not null && packName is null ? Path.GetFullPath(a) : null,
                    Audio: a is not null && packName is not null ? File.ReadAllBytes(a) : null);
                var response = (await client.GetResponse<SearchResponse>(request, cancel)).Message;
                if (response.Error is not null)
                {
                    CliOutput.Error(response.Error);
                    return 2;
                }
                var query = t ?? i ?? a!;
                if (parse.GetValue(json))
                    CliOutput.Line(new { query, node = response.Node, results = response.Results.Select(r => new { id = r.Id, path = r.Path, modality = r.Modality, score = r.Score, pack = r.Pack, version = r.Version }) });
                else
                {
                    Console.WriteLine($"search: {query}");
                    foreach (var r in response.Results) Console.WriteLine($"  {r.Score,8:0.0000}  {r.Modality,-5}  {r.Path}");
                    if (response.Results.Length == 0) Console.WriteLine("  (no results: nothing indexed with this pack)");
                }
                return 0;
            }
            finally
            {
                await MediaHost.StopAndDisposeAsync(host);
            }
        });
        return command;
    }
}
