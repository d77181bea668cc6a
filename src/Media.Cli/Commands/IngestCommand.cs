using System.CommandLine;
using Media.Domain;
using Media.Application;
using Media.Contracts.V1;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;
using Media.Workers;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media ingest [--data DIR] [--pack DIR]... [--device D] [--transport T] [--json] PATH...</c>: every file (folders
/// recursively) becomes one <c>MediaSubmitted</c> on the bus; returns when every item has its final result. In memory the
/// whole pipeline runs in this process; with <c>--transport rabbitmq</c> the <c>media serve</c> workers do the work and this
/// process waits for the results of its own items (by correlation id). Exit 0 when every item
/// got a result (rejected ones included), 2 when the service could not start, 3 when the pipeline itself failed, 4 when
/// (in memory) a webhook delivery failed after every retry.
/// </summary>
static class IngestCommand
{
    public static Command Create()
    {
        var service = new ServiceOptions();
        var json = CommonOptions.Json();
        var paths = new Argument<string[]>("PATH") { Description = "Files or folders (recursive)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("ingest", "Submit media to the pipeline and wait for duplicate flags") { json, paths };
        service.AddTo(command);
        service.AddDetectionTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            var files = InputFiles.Expand(parse.GetValue(paths)!).Select(Path.GetFullPath).ToArray();
            using var logging = CommonOptions.Logging(parse.GetValue(service.LogLevel));
            Microsoft.Extensions.Hosting.IHost host;
            try
            {
                // In one process every role runs here; on a broker the workers (`media serve`) do the work and this process only submits and waits.
                var roles = service.TransportName(parse) == "inmemory" ? WorkerRoles.All : WorkerRoles.None;
                host = MediaHost.Build(service.Build(parse, roles), logging, trackSubmissions: true);
            }
            catch (Exception ex) when (ex is ModelPackException or ExecutionProviderException or FormatException or ArgumentException or Media.Codecs.MediaRejectedException)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
            try
            {
                await host.StartAsync(cancel);
                var tracker = host.Services.GetRequiredService<SubmissionTracker>();
                return parse.GetValue(json)
                    ? await RunJson(files, host, tracker, cancel)
                    : await RunInteractive(files, host, tracker, cancel);
            }
            finally
            {
                await MediaHost.StopAndDisposeAsync(host);
            }
        });
        return command;
    }

    static async Task<int> RunJson(string[] files, Microsoft.Extensions.Hosting.IHost host, SubmissionTracker tracker, CancellationToken cancel)
    {
        tracker.Completed += r => CliOutput.Line(ToJson(r));
        return await Finish(host, await MediaHost.SubmitFilesAsync(host, files, cancel));
    }

    static async Task<int> Finish(Microsoft.Extensions.Hosting.IHost host, Task<MediaProcessed>[] waiters)
    {
        var code = 0;
        try
        {
            await Task.WhenAll(waiters);
        }
        catch (PipelineFaultException)
        {
            foreach (var failed in waiters.Where(w => w.IsFaulted).Take(5)) CliOutput.Error($"pipeline failure: {failed.Exception!.InnerException!.Message}");
            code = 3;
        }
        // In memory, webhook deliveries (and their retries) live in this process: wait for each to succeed or fail for good.
        var results = waiters.Where(w => w.IsCompletedSuccessfully).Select(w => w.Result).ToArray();
        var failures = (await MediaHost.WebhookOutcomesAsync(host, results)).Where(o => !o.Delivered).ToArray();
        foreach (var f in failures)
            CliOutput.Error($"webhook '{f.Webhook}': delivery {f.DeliveryId} of {results.First(r => r.SubmissionId == f.SubmissionId).Path} failed after every retry: {f.Error}");
        if (failures.Length > 0)
            CliOutput.Error($"{failures.Length} webhook deliveries failed; in memory they are lost when this process exits (with --transport rabbitmq they wait in {MediaBus.WebhookDeliveryQueue}_error)");
        return code != 0 ? code : failures.Length > 0 ? 4 : 0;
    }

    static async Task<int> RunInteractive(string[] files, Microsoft.Extensions.Hosting.IHost host, SubmissionTracker tracker, CancellationToken cancel)
    {
        var results = new List<MediaProcessed>();
        var code = 0;
        await AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask($"ingesting {files.Length} files", maxValue: Math.Max(1, files.Length));
                tracker.Completed += r => { lock (results) results.Add(r); task.Increment(1); };
                code = await Finish(host, await MediaHost.SubmitFilesAsync(host, files, cancel));
            });
        var table = new Table().AddColumns("status", "action", "path", "flags");
        foreach (var r in results.OrderBy(r => r.Path, StringComparer.Ordinal))
        {
            var flags = r.Error ?? string.Join("; ", r.Flags.Select(f => f.Kind switch
            {
                FlagKinds.Anomaly => $"anomaly ({f.Method}, score {f.Score}/{f.Threshold})",
                FlagKinds.Concept => $"concept {f.Concept} → {f.Action} ({f.Method}, {f.Score}/{f.Threshold})",
                FlagKinds.Classification => $"classification {f.Label} → {f.Action} ({f.Method}, {f.Score:0.####}/{f.Threshold})",
                FlagKinds.BankMatch => $"bank {f.Bank} → {f.Action} ({f.Method}, {f.Distance}/{f.Threshold})",
                _ => $"{f.Kind} of {Path.GetFileName(f.OfPath)} ({f.Method}, {f.Distance}/{f.Threshold})",
            }));
            table.AddRow(Markup.Escape(r.Status), Markup.Escape(r.Action ?? ""), Markup.Escape(Path.GetRelativePath(Environment.CurrentDirectory, r.Path)), Markup.Escape(flags));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{results.Count(r => r.Status == MediaStatus.Indexed)} indexed, {results.Count(r => r.Status == MediaStatus.Duplicate)} exact duplicates, " +
                               $"{results.Count(r => r.Flags.Any(f => f.Kind == FlagKinds.NearDuplicate))} near-duplicates, {results.Count(r => r.Flags.Any(f => f.Kind == FlagKinds.Anomaly))} anomalies, " +
                               $"{results.Count(r => r.Flags.Any(f => f.Kind == FlagKinds.Concept))} concept matches, " +
                               $"{results.Count(r => r.Flags.Any(f => f.Kind == FlagKinds.Classification))} classification matches, " +
                               $"{results.Count(r => r.Flags.Any(f => f.Kind == FlagKinds.BankMatch))} bank matches, {results.Count(r => r.Status == MediaStatus.Rejected)} rejected, " +
                               $"{results.Count(r => Media.Detection.ActionPolicy.IsActioned(r.Action))} actioned");
        return code;
    }

    /// <summary>A flag in the CLI's JSON: the fields of its kind.</summary>
    internal static object FlagJson(MediaFlag f) => f.Kind switch
    {
        FlagKinds.Anomaly => new { kind = f.Kind, score = f.Score, threshold = f.Threshold, method = f.Method },
        FlagKinds.Concept => new { kind = f.Kind, concept = f.Concept, action = f.Action, score = f.Score, threshold = f.Threshold, method = f.Method },
        FlagKinds.Classification => new { kind = f.Kind, label = f.Label, score = f.Score, threshold = f.Threshold, action = f.Action, method = f.Method },
        FlagKinds.BankMatch => new { kind = f.Kind, bank = f.Bank, method = f.Method, distance = f.Distance, threshold = f.Threshold, action = f.Action },
        _ => (object)new { kind = f.Kind, of = f.Of, ofPath = f.OfPath, method = f.Method, distance = f.Distance, threshold = f.Threshold },
    };

    internal static object ToJson(MediaProcessed r) => new
    {
        id = r.MediaId,
        path = r.Path,
        modality = r.Modality,
        status = r.Status,
        action = r.Action,
        flags = r.Flags.Select(FlagJson),
        error = r.Error,
    };
}
