using System.CommandLine;
using System.Diagnostics;
using Media.Application;
using Media.Catalog;
using Media.Domain;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;
using Media.Workers;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media reprocess --pack DIR [--collection C] [--data DIR] [--device D] [--transport T] [--json]</c>: embeds every
/// catalogued item (of the modalities the pack has towers for, optionally of one collection) that lacks an embedding of
/// the pack's name@version, re-reading it from its stored source through the bus (<see cref="Reprocessor"/>). A re-run
/// continues the unfinished job. Exit 0 when the job completed (every item in scope has the embedding), 1 when items are
/// missing (listed with reasons), 2 when it cannot start, 3 when the pipeline failed.
/// </summary>
static class ReprocessCommand
{
    public static Command Create()
    {
        var service = new ServiceOptions();
        var json = CommonOptions.Json();
        var collection = new Option<string?>("--collection") { Description = "Only items of this collection" };
        var command = new Command("reprocess", "Embed every catalogued item lacking an embedding of a pack@version, from its stored source (resumable job)") { json, collection };
        service.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            var dirs = parse.GetValue(service.Packs) ?? [];
            if (dirs.Length != 1)
            {
                CliOutput.Error("give exactly one --pack DIR: the pack@version to embed the catalog with");
                return 2;
            }
            var data = service.CatalogLocation(parse);
            if (!Catalogs.Exists(data))
            {
                CliOutput.Error($"no catalog in {Catalogs.Describe(data)}");
                return 2;
            }
            PackKey key;
            string[] modalities;
            try
            {
                var manifest = ModelPack.ReadManifest(dirs[0]);
                key = new PackKey(manifest.Name, manifest.Version);
                modalities = [.. new[] { (manifest.Image is not null, "image"), (manifest.Audio is not null, "audio") }.Where(m => m.Item1).Select(m => m.Item2)];
            }
            catch (ModelPackException ex)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
            if (modalities.Length == 0)
            {
                CliOutput.Error($"pack {key} has no image or audio tower: it cannot embed catalogued media");
                return 2;
            }
            using var logging = CommonOptions.Logging(parse.GetValue(service.LogLevel));
            var inMemory = service.TransportName(parse) == "inmemory";
            Microsoft.Extensions.Hosting.IHost host;
            IMediaCatalog? ownCatalog = null;
            try
            {
                // In one process this one encodes and writes; on a broker the `media serve` workers do, and this process feeds them.
                var options = service.Build(parse, inMemory ? WorkerRoles.Encode | WorkerRoles.Detect : WorkerRoles.None) with { PolicyFile = null };
                host = MediaHost.Build(options, logging, trackSubmissions: true);
                if (!inMemory) ownCatalog = Catalogs.Open(data);
            }
            catch (Exception ex) when (ex is ModelPackException or ExecutionProviderException or FormatException or ArgumentException or CatalogException)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
            try
            {
                await host.StartAsync(cancel);
                var store = (IReprocessStore)(ownCatalog ?? host.Services.GetRequiredService<IMediaCatalog>());
                var asJson = parse.GetValue(json);
                var clock = Stopwatch.StartNew();
                var opts = new ReprocessOptions(key, modalities, parse.GetValue(collection),
                    Microsoft.Extensions.Configuration.ConfigurationBinder.GetValue(CommonOptions.Configuration, "Media:Reprocess:MaxInFlight", 256));
                ReprocessOutcome outcome;
                if (asJson)
                {
                    outcome = await Reprocessor.RunAsync(host, store, opts,
                        p => CliOutput.Line(new { @event = "progress", job = p.JobId, run = p.Run, pending = p.Pending, processed = p.Processed, alreadyEmbedded = p.AlreadyEmbedded,
                            missing = p.Missing, itemsPerSecond = Math.Round(p.Done / Math.Max(1e-3, clock.Elapsed.TotalSeconds), 1) }),
                        m => CliOutput.Line(new { @event = "missing", id = m.MediaId, path = m.Path, reason = m.Reason }), cancel);
                }
                else
                {
                    outcome = null!;
                    await AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                        .StartAsync(async ctx =>
                        {
                            var task = ctx.AddTask($"reprocessing with {key}", maxValue: 1);
                            outcome = await Reprocessor.RunAsync(host, store, opts, p =>
                            {
                                task.MaxValue = Math.Max(1, p.Pending);
                                task.Value = p.Done;
                                task.Description = $"reprocessing with {key}: {p.Done}/{p.Pending}, {p.Done / Math.Max(1e-3, clock.Elapsed.TotalSeconds):0.0} items/s";
                            }, null, cancel);
                        });
                }
                var seconds = clock.Elapsed.TotalSeconds;
                var o = outcome;
                if (asJson)
                    CliOutput.Line(new
                    {
                        @event = "summary", job = o.Job.Id, pack = key.ToString(), collection = o.Job.Collection, run = o.Run, status = o.Job.Status,
                        pending = o.Progress.Pending, processed = o.Progress.Processed, alreadyEmbedded = o.Progress.AlreadyEmbedded, missing = o.Progress.Missing,
                        total = o.Coverage.Total, covered = o.Coverage.Covered, missingItems = o.Missing.Select(m => new { id = m.MediaId, path = m.Path, reason = m.Reason }),
                        failure = o.Failure, seconds = Math.Round(seconds, 2), itemsPerSecond = Math.Round(o.Progress.Done / Math.Max(1e-3, seconds), 1),
                    });
                else
                {
                    if (o.Missing.Count > 0)
                    {
                        var table = new Table().AddColumns("missing item", "path", "reason");
                        foreach (var m in o.Missing) table.AddRow(Markup.Escape(m.MediaId[..12] + "…"), Markup.Escape(m.Path), Markup.Escape(m.Reason));
                        AnsiConsole.Write(table);
                    }
                    AnsiConsole.MarkupLine(Markup.Escape($"job {o.Job.Id} run {o.Run}: {o.Job.Status}; {o.Progress.Processed} embedded, {o.Progress.AlreadyEmbedded} already embedded, " +
                        $"{o.Progress.Missing} missing in {seconds:0.0} s; {o.Coverage.Covered} of {o.Coverage.Total} items have {key}"));
                }
                if (o.Failure is not null)
                {
                    CliOutput.Error($"pipeline failure: {o.Failure} (the next run continues where this one stopped)");
                    return 3;
                }
                return o.Job.Status == JobStatus.Completed ? 0 : 1;
            }
            finally
            {
                await MediaHost.StopAndDisposeAsync(host);
                ownCatalog?.Dispose();
            }
        });
        return command;
    }
}
