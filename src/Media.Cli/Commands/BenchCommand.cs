using System.CommandLine;
using Media.Application;
using Media.Detection;
using Media.Index;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media bench index --n N --dim D [--data DIR] [--queries Q] [--seed S] [--no-peer] [--index hnsw|exact] [--json]</c>: the index
/// benchmark (<see cref="IndexBenchmark"/>) through the real detect-and-index path, with hnswlib on the same vectors.
/// </summary>
static class BenchCommand
{
    public static Command Create()
    {
        var n = new Option<int>("--n") { Description = "Items to detect and index", DefaultValueFactory = _ => 100_000 };
        var dim = new Option<int>("--dim") { Description = "Embedding dimension", DefaultValueFactory = _ => 512 };
        var data = new Option<string?>("--data") { Description = "Catalog folder to build (kept); default: a temporary folder, removed after" };
        var queries = new Option<int>("--queries") { Description = "Search queries for recall and latency", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 1 };
        var noPeer = new Option<bool>("--no-peer") { Description = "Skip the hnswlib peer (python3-hnswlib)" };
        var kind = new Option<string>("--index")
        {
            Description = "hnsw: the service's indexes (HNSW + multi-index hashing); exact: exact scans (the flat vector and binary indexes), for comparison",
            DefaultValueFactory = _ => "hnsw",
        };
        kind.AcceptOnlyFromAmong("hnsw", "exact");
        var json = CommonOptions.Json();
        var index = new Command("index", "Detect+index throughput, recall@10, search latency, reopen time and memory on N clustered vectors, next to hnswlib")
            { n, dim, data, queries, seed, noPeer, kind, json };
        index.SetAction(parse =>
        {
            var keep = parse.GetValue(data);
            var dir = keep ?? Path.Combine(Path.GetTempPath(), "media-bench-index-" + Guid.NewGuid().ToString("N"));
            var script = Path.Combine(AppContext.BaseDirectory, "tools", "hnswlib_peer.py");
            var asJson = parse.GetValue(json);
            try
            {
                var settings = new IndexBenchmarkSettings(parse.GetValue(n), parse.GetValue(dim), dir, parse.GetValue(queries), parse.GetValue(seed),
                    parse.GetValue(noPeer) ? null : script);
                var indexes = parse.GetValue(kind) == "exact"
                    ? new IndexSettings { NewVectorIndex = d => new FlatVectorIndex(d), NewPdqIndex = () => new FlatBinaryIndex(256) }
                    : new IndexSettings();
                var result = IndexBenchmark.Run(settings, indexes, m => Console.Error.WriteLine($"media bench: {m}"));
                if (asJson) CliOutput.Line(result);
                else
                {
                    Console.WriteLine($"{result.Items} items × {result.Dimension}-d, {result.VectorIndex}");
                    Console.WriteLine($"detect+index  {result.DetectItemsPerSecond} items/s (last 10%; slowest item {result.MaxDetectMs} ms, {result.MaxDetectGcPauseMs} ms of it GC pauses)");
                    Console.WriteLine($"search        recall@10 {result.RecallAt10}{(result.EfSearch is { } ef ? $" at ef {ef} ({result.RecallAtDefaultEf} at the default ef {result.DefaultEfSearch})" : "")}, p50 {result.SearchP50Ms} ms, p99 {result.SearchP99Ms} ms, {result.Qps} QPS ({result.QpsSingleThread} on one thread)");
                    Console.WriteLine($"reopen        {result.ReopenSeconds} s; RSS {result.RssBytes / 1e9:0.00} GB (peak {result.PeakRssBytes / 1e9:0.00} GB)");
                    if (result.Hnswlib is { } h)
                        Console.WriteLine($"hnswlib       recall@10 {h.RecallAt10} at ef {h.Ef}, {h.Qps} QPS ({h.QpsSingleThread} on one thread), build {h.BuildSeconds} s");
                }
                return 0;
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
            finally
            {
                if (keep is null && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            }
        });
        return new Command("bench", "Benchmarks that are part of the product") { index, Pipeline() };
    }

    /// <summary><c>media bench pipeline --pack DIR --photos DIR [--stages FILE...] [--peer SCRIPT] [--threads N] [--json]</c>: <see cref="PipelineBenchmark"/>.</summary>
    static Command Pipeline()
    {
        var pack = new Option<DirectoryInfo>("--pack") { Description = "Image pack (make bench: the synthetic CLIP ViT-B/32 pack)", Required = true };
        var photos = new Option<DirectoryInfo>("--photos") { Description = "Folder of distinct photos", Required = true };
        var stages = new Option<FileInfo[]>("--stages") { Description = "Images whose per-stage CPU cost is measured", AllowMultipleArgumentsPerToken = true };
        var peer = new Option<FileInfo?>("--peer") { Description = "The Node peer's script (tools/node-peer/peer.mjs, npm-installed), run on the same photos and pack" };
        var threads = CommonOptions.Threads();
        var json = CommonOptions.Json();
        var command = new Command("pipeline", "Encoder-only, embed and ingest images/s, start-up and per-stage CPU cost, next to the Node peer (onnxruntime-node + sharp)")
            { pack, photos, stages, peer, threads, json };
        command.SetAction(async (parse, cancel) =>
        {
            var sessions = CommonOptions.Sessions("cpu", parse.GetValue(threads)) with { AllowSpinning = false };
            var packDir = parse.GetValue(pack)!.FullName;
            async Task<TimeSpan> Ingest(string[] files)
            {
                var data = Path.Combine(Path.GetTempPath(), "media-bench-ingest-" + Guid.NewGuid().ToString("N"));
                var host = Media.Workers.MediaHost.Build(new MediaServiceOptions { DataDirectory = data, PackDirectories = [packDir], Sessions = sessions },
                    Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, trackSubmissions: true);
                try
                {
                    await host.StartAsync(cancel);
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    var results = await Task.WhenAll(await Media.Workers.MediaHost.SubmitFilesAsync(host, files));
                    var elapsed = clock.Elapsed;
                    if (results.FirstOrDefault(r => r.Status == Media.Contracts.V1.MediaStatus.Rejected) is { } bad)
                        throw new InvalidOperationException($"{bad.Path}: rejected by ingest: {bad.Error}");
                    return elapsed;
                }
                finally
                {
                    await Media.Workers.MediaHost.StopAndDisposeAsync(host);
                    if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
                }
            }
            // A catalog of the photos without embeddings (ingested with no pack, untimed), then a timed reprocessing job with the pack.
            async Task<TimeSpan> Reprocess(string[] files)
            {
                var data = Path.Combine(Path.GetTempPath(), "media-bench-reprocess-" + Guid.NewGuid().ToString("N"));
                try
                {
                    var plain = Media.Workers.MediaHost.Build(new MediaServiceOptions { DataDirectory = data, Sessions = sessions },
                        Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, trackSubmissions: true);
                    try
                    {
                        await plain.StartAsync(cancel);
                        await Task.WhenAll(await Media.Workers.MediaHost.SubmitFilesAsync(plain, files));
                    }
                    finally { await Media.Workers.MediaHost.StopAndDisposeAsync(plain); }
                    var options = new MediaServiceOptions { DataDirectory = data, PackDirectories = [packDir], Sessions = sessions,
                        Roles = WorkerRoles.Encode | WorkerRoles.Detect };
                    var host = Media.Workers.MediaHost.Build(options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, trackSubmissions: true);
                    try
                    {
                        await host.StartAsync(cancel);
                        var store = (Media.Catalog.IReprocessStore)Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
                            .GetRequiredService<Media.Catalog.IMediaCatalog>(host.Services);
                        var key = Media.Embeddings.Packs.ModelPack.ReadManifest(packDir);
                        var clock = System.Diagnostics.Stopwatch.StartNew();
                        var outcome = await Media.Workers.Reprocessor.RunAsync(host, store,
                            new Media.Workers.ReprocessOptions(new Media.Domain.PackKey(key.Name, key.Version), ["image"]), cancel: cancel);
                        var elapsed = clock.Elapsed;
                        if (outcome.Job.Status != Media.Catalog.JobStatus.Completed || outcome.Progress.Processed != files.Length)
                            throw new InvalidOperationException($"reprocessing ended {outcome.Job.Status} with {outcome.Progress.Processed} of {files.Length} embedded: {outcome.Failure}");
                        return elapsed;
                    }
                    finally { await Media.Workers.MediaHost.StopAndDisposeAsync(host); }
                }
                finally
                {
                    if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
                }
            }
            try
            {
                var settings = new PipelineBenchmarkSettings(packDir, parse.GetValue(photos)!.FullName, (parse.GetValue(stages) ?? []).Select(f => f.FullName).ToArray(),
                    sessions, Environment.ProcessPath!, parse.GetValue(peer)?.FullName, Ingest, Reprocess);
                var r = await PipelineBenchmark.RunAsync(settings, m => Console.Error.WriteLine($"media bench: {m}"));
                if (parse.GetValue(json)) CliOutput.Line(r);
                else
                {
                    Console.WriteLine($"{r.Photos} photos, {r.IntraOpThreads} intra-op threads");
                    Console.WriteLine($"encoder only  {r.EncoderOnlyImagesPerSecond} images/s");
                    Console.WriteLine($"embed         {r.EmbedImagesPerSecond} images/s" + (r.EmbedVsNode is { } e ? $"  ({e}x the Node peer's {r.Node!.ImagesPerSecond})" : ""));
                    Console.WriteLine($"ingest        {r.IngestImagesPerSecond} images/s" + (r.IngestVsNode is { } g ? $"  ({g}x the Node peer's)" : "") + $", {r.IngestVsEncoderOnly}x encoder-only");
                    Console.WriteLine($"start-up      {r.StartupSeconds} s" + (r.StartupVsNode is { } st ? $"  ({st}x the Node peer's {r.Node!.StartupSeconds} s)" : "") +
                        $"; without huge pages {r.StartupSecondsWithoutHugePages} s" + (r.Node is { } nd ? $", the peer with them {nd.StartupSecondsHugePages} s" : ""));
                    if (r.ReprocessImagesPerSecond is { } rp) Console.WriteLine($"reprocess     {rp} images/s, {r.ReprocessVsEncoderOnly}x encoder-only");
                    foreach (var c in r.Stages)
                        Console.WriteLine($"{c.Input,-16} {c.Width}x{c.Height} (decoded {c.DecodedWidth}x{c.DecodedHeight}) core-ms: read+SHA-256 {c.ReadSha256}, decode {c.Decode}, PDQ {c.Pdq}, " +
                            $"preprocess {c.Preprocess} (decode+preprocess+PDQ {c.DecodePreprocessPdq}), inference {c.Inference}, detect+catalog {c.DetectCatalog}; 16 cores feed {c.FeedPerSecond16Cores} images/s");
                }
                return 0;
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or Media.Embeddings.Packs.ModelPackException)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
        });
        return command;
    }
}
