using System.CommandLine;
using Media.Domain;
using Media.Application;
using Media.Catalog;
using Microsoft.Extensions.Configuration;
using Media.Contracts.V1;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;
using Media.Workers;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media ingest [--data DIR] [--pack DIR]... [--device D] [--transport T] [--rescan] [--json] PATH...</c>: every file
/// (folders recursively, enumerated lazily) becomes one <c>MediaSubmitted</c> on the bus, with at most
/// <c>Media:Ingest:MaxInFlight</c> (256) awaiting their results (back-pressure: memory does not grow with the folder).
/// Before a byte is read, a file whose path, size and mtime match what the catalog recorded when it catalogued it
/// (<see cref="FileStamp"/>) is skipped (status <c>skipped</c>), unless <c>--rescan</c>; any other file already catalogued is found by
/// its SHA-256 (status <c>duplicate</c>, not re-encoded). So an interrupted ingest resumes without re-reading what it finished.
/// In memory the whole pipeline runs in this process; with <c>--transport rabbitmq</c> the <c>media serve</c> workers do the work
/// and this process waits for the results of its own items (by correlation id). Exit 0 when every item got a result
/// (rejected ones included), 2 when the service could not start, 3 when the pipeline itself failed, 4 when (in memory) a
/// webhook delivery failed after every retry.
/// </summary>
static class IngestCommand
{
    /// <summary>Flagged or rejected items listed in the interactive summary table at most (the rest are counted; --json lists all).</summary>
    const int TableRows = 1000;

    public static Command Create()
    {
        var service = new ServiceOptions();
        var json = CommonOptions.Json();
        var rescan = new Option<bool>("--rescan") { Description = "Read every file again, even those the catalog recorded with the same path, size and mtime" };
        var paths = new Argument<string[]>("PATH") { Description = "Files or folders (recursive)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("ingest", "Submit media to the pipeline and wait for duplicate flags") { json, rescan, paths };
        service.AddTo(command);
        service.AddDetectionTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            var inputs = parse.GetValue(paths)!;
            using var logging = CommonOptions.Logging(parse.GetValue(service.LogLevel));
            Microsoft.Extensions.Hosting.IHost host;
            IMediaCatalog? ownCatalog = null;
            var inMemory = service.TransportName(parse) == "inmemory";
            try
            {
                // In one process every role runs here; on a broker the workers (`media serve`) do the work and this process only submits and waits.
                var roles = inMemory ? WorkerRoles.All : WorkerRoles.None;
                host = MediaHost.Build(service.Build(parse, roles), logging, trackSubmissions: true);
                // On a broker the file stamps are this submitter's own record, in the catalog under --data.
                if (!inMemory) ownCatalog = Catalogs.Open(service.CatalogLocation(parse));
            }
            catch (Exception ex) when (ex is ModelPackException or ExecutionProviderException or FormatException or ArgumentException or Media.Codecs.MediaRejectedException or CatalogException)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
            try
            {
                await host.StartAsync(cancel);
                var stamps = (IReprocessStore)(ownCatalog ?? host.Services.GetRequiredService<IMediaCatalog>());
                var run = new IngestRun(host, stamps, parse.GetValue(rescan), CommonOptions.Configuration.GetValue("Media:Ingest:MaxInFlight", 256),
                    service.DataDirectory(parse));
                return parse.GetValue(json) ? await RunJson(run, inputs, cancel) : await RunInteractive(run, inputs, cancel);
            }
            finally
            {
                await MediaHost.StopAndDisposeAsync(host);
                ownCatalog?.Dispose();
            }
        });
        return command;
    }

    static async Task<int> RunJson(IngestRun run, string[] inputs, CancellationToken cancel)
    {
        run.Skipped += (path, stamp) => CliOutput.Line(new { id = stamp.MediaId, path, modality = (string?)null, status = "skipped", action = (string?)null, flags = Array.Empty<object>(), error = (string?)null });
        run.Result += r => CliOutput.Line(ToJson(r));
        var code = await run.RunAsync(inputs, cancel);
        Console.Error.WriteLine(run.Summary());
        return code;
    }

    static async Task<int> RunInteractive(IngestRun run, string[] inputs, CancellationToken cancel)
    {
        var rows = new List<MediaProcessed>();
        var code = 0;
        await AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("ingesting (counting files)", maxValue: 1);
                task.IsIndeterminate = true;
                // The total comes from a second, name-free walk beside the ingest, so the bar has an end and an ETA.
                _ = Task.Run(() => InputFiles.Count(inputs, run.DataDirectory, cancel), cancel).ContinueWith(t =>
                {
                    if (!t.IsCompletedSuccessfully) return;
                    task.MaxValue = Math.Max(1, t.Result);
                    task.IsIndeterminate = false;
                }, TaskScheduler.Default);
                var lastLabel = DateTime.MinValue;
                void Tick()
                {
                    task.Increment(1);
                    if (DateTime.UtcNow - lastLabel < TimeSpan.FromMilliseconds(250)) return;
                    lastLabel = DateTime.UtcNow;
                    task.Description = $"ingesting: {run.Finished} files{(task.IsIndeterminate ? "" : $" of {task.MaxValue:0}")}, {run.FilesPerSecond:0.0} files/s, {run.SkippedCount} skipped";
                }
                run.Skipped += (_, _) => Tick();
                run.Result += r =>
                {
                    lock (rows)
                        if (rows.Count < TableRows && (r.Error is not null || r.Flags.Length > 0)) rows.Add(r);
                    Tick();
                };
                code = await run.RunAsync(inputs, cancel);
            });
        var table = new Table().AddColumns("status", "action", "path", "flags");
        foreach (var r in rows.OrderBy(r => r.Path, StringComparer.Ordinal))
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
        if (rows.Count > 0) AnsiConsole.Write(table);
        if (rows.Count >= TableRows) AnsiConsole.MarkupLine($"(the first {TableRows} flagged or rejected items; --json lists every item)");
        AnsiConsole.WriteLine(run.Summary());
        return code;
    }

    /// <summary>
    /// One ingest: lazily enumerated files, the skip by file stamp, bounded submission, per-result bookkeeping (counts,
    /// stamps written in batches, webhook outcomes of actioned items only), so what it keeps does not grow with the file count.
    /// </summary>
    sealed class IngestRun(Microsoft.Extensions.Hosting.IHost host, IReprocessStore stamps, bool rescan, int maxInFlight, string dataDirectory)
    {
        const int StampBatch = 256;
        readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long Size, long Mtime)> _inFlight = new(StringComparer.Ordinal);
        readonly List<FileStamp> _pendingStamps = [];
        readonly List<(Task<WebhookOutcome[]> Outcomes, string Path)> _webhooks = [];
        readonly List<string> _faults = [];
        readonly System.Diagnostics.Stopwatch _clock = new();
        long _finished, _skipped, _indexed, _duplicates, _near, _anomalies, _concepts, _classifications, _banks, _rejected, _actioned;

        public string DataDirectory => dataDirectory;
        public event Action<string, FileStamp>? Skipped;
        public event Action<MediaProcessed>? Result;
        public long Finished => Interlocked.Read(ref _finished);
        public long SkippedCount => Interlocked.Read(ref _skipped);
        public double FilesPerSecond => Finished / Math.Max(1e-3, _clock.Elapsed.TotalSeconds);

        IEnumerable<string> ToSubmit(string[] inputs)
        {
            // The catalog's own folder is never ingested (enumeration is lazy, so it may already exist inside an input folder).
            foreach (var given in InputFiles.Expand(inputs, dataDirectory))
            {
                var path = Path.GetFullPath(given);
                var info = new FileInfo(path);
                if (info.Exists)
                {
                    var (size, mtime) = (info.Length, info.LastWriteTimeUtc.Ticks);
                    if (!rescan && stamps.FindFileStamp(path) is { } stamp && stamp.SizeBytes == size && stamp.MtimeTicks == mtime)
                    {
                        Interlocked.Increment(ref _skipped);
                        Interlocked.Increment(ref _finished);
                        Skipped?.Invoke(path, stamp);
                        continue;
                    }
                    _inFlight[path] = (size, mtime);
                }
                yield return path;
            }
        }

        public async Task<int> RunAsync(string[] inputs, CancellationToken cancel)
        {
            _clock.Start();
            await MediaHost.SubmitStreamAsync(host, ToSubmit(inputs), maxInFlight, Completed, cancel);
            FlushStamps(force: true);
            _clock.Stop();
            var code = 0;
            if (_faults.Count > 0)
            {
                foreach (var f in _faults.Take(5)) CliOutput.Error($"pipeline failure: {f}");
                code = 3;
            }
            // In memory, webhook deliveries (and their retries) live in this process: wait for each to succeed or fail for good.
            var failures = 0;
            foreach (var (outcomes, path) in _webhooks)
                foreach (var f in (await outcomes).Where(o => !o.Delivered))
                {
                    failures++;
                    CliOutput.Error($"webhook '{f.Webhook}': delivery {f.DeliveryId} of {path} failed after every retry: {f.Error}");
                }
            if (failures > 0)
                CliOutput.Error($"{failures} webhook deliveries failed; in memory they are lost when this process exits (with --transport rabbitmq they wait in {MediaBus.WebhookDeliveryQueue}_error)");
            return code != 0 ? code : failures > 0 ? 4 : 0;
        }

        void Completed(string path, Task<MediaProcessed> finished)
        {
            _inFlight.TryRemove(path, out var stat);
            Interlocked.Increment(ref _finished);
            if (!finished.IsCompletedSuccessfully)
            {
                lock (_faults) _faults.Add(finished.Exception?.InnerException?.Message ?? "cancelled");
                return;
            }
            var r = finished.Result;
            Count(r);
            if (r.MediaId is { } id && r.Status is MediaStatus.Indexed or MediaStatus.Duplicate && stat != default)
                lock (_pendingStamps)
                {
                    _pendingStamps.Add(new FileStamp(path, stat.Size, stat.Mtime, id));
                    if (_pendingStamps.Count >= StampBatch) FlushStamps(force: false);
                }
            var outcomes = MediaHost.WebhookOutcomesAsync(host, [r]);
            if (!outcomes.IsCompletedSuccessfully || outcomes.Result.Length > 0)
                lock (_webhooks) _webhooks.Add((outcomes, r.Path));
            Result?.Invoke(r);
        }

        /// <summary>Writes the buffered stamps in one transaction (every <see cref="StampBatch"/> results and at the end).</summary>
        void FlushStamps(bool force)
        {
            lock (_pendingStamps)
            {
                if (_pendingStamps.Count == 0 || (!force && _pendingStamps.Count < StampBatch)) return;
                stamps.RecordFileStamps([.. _pendingStamps]);
                _pendingStamps.Clear();
            }
        }

        void Count(MediaProcessed r)
        {
            if (r.Status == MediaStatus.Indexed) Interlocked.Increment(ref _indexed);
            if (r.Status == MediaStatus.Duplicate) Interlocked.Increment(ref _duplicates);
            if (r.Status == MediaStatus.Rejected) Interlocked.Increment(ref _rejected);
            if (r.Flags.Any(f => f.Kind == FlagKinds.NearDuplicate)) Interlocked.Increment(ref _near);
            if (r.Flags.Any(f => f.Kind == FlagKinds.Anomaly)) Interlocked.Increment(ref _anomalies);
            if (r.Flags.Any(f => f.Kind == FlagKinds.Concept)) Interlocked.Increment(ref _concepts);
            if (r.Flags.Any(f => f.Kind == FlagKinds.Classification)) Interlocked.Increment(ref _classifications);
            if (r.Flags.Any(f => f.Kind == FlagKinds.BankMatch)) Interlocked.Increment(ref _banks);
            if (Media.Detection.ActionPolicy.IsActioned(r.Action)) Interlocked.Increment(ref _actioned);
        }

        public string Summary() =>
            $"{_finished} files in {_clock.Elapsed.TotalSeconds:0.0} s ({FilesPerSecond:0.0} files/s): {_indexed} indexed, {_duplicates} exact duplicates, " +
            $"{_near} near-duplicates, {_anomalies} anomalies, {_concepts} concept matches, {_classifications} classification matches, {_banks} bank matches, " +
            $"{_rejected} rejected, {_actioned} actioned, {_skipped} skipped (already catalogued: same path, size and mtime)";
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
