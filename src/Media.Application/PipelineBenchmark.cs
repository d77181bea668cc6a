using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Media.Catalog;
using Media.Codecs;
using Media.Contracts.V1;
using Media.Detection;
using Media.Embeddings.Packs;
using Media.Embeddings.Pipeline;
using Media.Embeddings.Preprocessing;
using Media.Embeddings.Runtime;
using Media.Hashing;

namespace Media.Application;

/// <summary>Settings of <see cref="PipelineBenchmark"/>.</summary>
/// <param name="Pack">The image pack (the bench uses the one with CLIP ViT-B/32's exact graph, random weights).</param>
/// <param name="Photos">Folder of distinct photos (every file is used, in name order).</param>
/// <param name="StageImages">Images whose per-stage CPU cost is measured (1 MP JPEG, 12 MP JPEG, 1 MP PNG in <c>make bench</c>).</param>
/// <param name="Sessions">ONNX Runtime settings, as the service and <c>media embed</c> open sessions.</param>
/// <param name="MediaExecutable">This program, for the start-up measurement (<c>media embed</c> on one photo, whole process).</param>
/// <param name="PeerScript">The Node peer (<c>tools/node-peer/peer.mjs</c>, its node_modules installed), or null to skip it.</param>
/// <param name="Ingest">Ingests the given files through the embedded pipeline (bus, catalog, detection) into a fresh catalog
/// and returns the time from the first submission to the last result; supplied by the host layer.</param>
/// <param name="Reprocess">Reprocesses the given files, already catalogued (without embeddings), with the pack through the
/// embedded pipeline (a reprocessing job on the bus) and returns the job's wall time; null to skip.</param>
public sealed record PipelineBenchmarkSettings(string Pack, string Photos, IReadOnlyList<string> StageImages, SessionSettings Sessions,
    string MediaExecutable, string? PeerScript, Func<string[], Task<TimeSpan>> Ingest, Func<string[], Task<TimeSpan>>? Reprocess = null);

/// <summary>CPU cost of one image through each stage, core-milliseconds (thread CPU time; process CPU time for the
/// multi-threaded inference and detection). Inference is per image in batches of 16; detect + catalog is the mean over
/// the photo set into a fresh catalog. <see cref="DecodePreprocessPdq"/> is the CPU side the issue budgets;
/// <see cref="FeedPerSecond16Cores"/> the images/s that 16 cores spending read + decode + PDQ + preprocess could hand a GPU.</summary>
public sealed record StageCost(string Input, int Width, int Height, int DecodedWidth, int DecodedHeight, double ReadSha256, double Decode, double Pdq,
    double Preprocess, double Inference, double DetectCatalog)
{
    public double DecodePreprocessPdq => Math.Round(Decode + Pdq + Preprocess, 2);
    public double FeedPerSecond16Cores => Math.Round(16 * 1000 / (ReadSha256 + Decode + Pdq + Preprocess));
}

/// <summary>The Node peer's figures from the same run, run as its authors would (without <c>GLIBC_TUNABLES</c>);
/// <see cref="StartupSecondsHugePages"/> is its start-up with the transparent-huge-page tunable that <c>bin/media</c> sets.</summary>
public sealed record PeerPipelineFigures(double ImagesPerSecond, double StartupSeconds, double StartupSecondsHugePages);

/// <summary>What <c>media bench pipeline</c> prints (one JSON object). Rates are steady-state images/s over the photo set
/// (the median of 3 passes after a warm-up pass for <c>embed</c> and the Node peer; of 3 ingests, each into a fresh
/// catalog, after 2 warm-up ingests; a second pass for the encoder alone); start-up is the
/// median wall time of a whole <c>media embed</c> process on one photo with a warm pack, in this process's environment
/// (through <c>bin/media</c>: with <c>glibc.malloc.hugetlb=1</c>), and <see cref="StartupSecondsWithoutHugePages"/> without
/// that tunable. Ratios are ours over the peer's.</summary>
public sealed record PipelineBenchmarkResult(int Photos, int IntraOpThreads, double EncoderOnlyImagesPerSecond, double EmbedImagesPerSecond,
    double IngestImagesPerSecond, double StartupSeconds, double StartupSecondsWithoutHugePages, PeerPipelineFigures? Node, IReadOnlyList<StageCost> Stages, double? ReprocessImagesPerSecond = null)
{
    /// <summary>Reprocessing (re-read, decode, embed with a new pack version, write) over encoder-only throughput; the goal is ≥ 0.9.</summary>
    public double? ReprocessVsEncoderOnly => ReprocessImagesPerSecond is { } r ? Math.Round(r / EncoderOnlyImagesPerSecond, 2) : null;
    public double? EmbedVsNode => Node is { } n ? Math.Round(EmbedImagesPerSecond / n.ImagesPerSecond, 2) : null;
    public double? IngestVsNode => Node is { } n ? Math.Round(IngestImagesPerSecond / n.ImagesPerSecond, 2) : null;
    public double? StartupVsNode => Node is { } n ? Math.Round(StartupSeconds / n.StartupSeconds, 2) : null;
    public double IngestVsEncoderOnly => Math.Round(IngestImagesPerSecond / EncoderOnlyImagesPerSecond, 2);
}

/// <summary>
/// The pipeline benchmark, part of the product (<c>media bench pipeline</c>, run by <c>make bench</c>): on one pack and
/// one photo set, in one run, encoder-only throughput (preprocessed tensors, batches of 16), <c>media embed</c>'s pipeline
/// (<see cref="EncodeStage"/> without PDQ), ingest end to end, whole-process start-up, the per-stage CPU cost of chosen
/// images, and the Node peer (onnxruntime-node + sharp) on the same photos and pack, so that ratios come from one run on
/// one machine.
/// </summary>
public static class PipelineBenchmark
{
    const int Batch = 16;
    /// <summary>Timed passes per rate, after warm-up; the median is reported (these VMs are noisy).</summary>
    const int Passes = 3;

    static double Median(double[] values) => values.Order().ElementAt(values.Length / 2);

    /// <exception cref="ArgumentException">No photos, or a stage image cannot be decoded.</exception>
    /// <exception cref="InvalidOperationException">A spawned process (start-up, peer) failed.</exception>
    public static async Task<PipelineBenchmarkResult> RunAsync(PipelineBenchmarkSettings s, Action<string>? progress = null)
    {
        progress ??= _ => { };
        var photos = Directory.GetFiles(s.Photos).Order(StringComparer.Ordinal).ToArray();
        if (photos.Length == 0) throw new ArgumentException($"{s.Photos} holds no photos");
        var sessions = s.Sessions with { AllowSpinning = false };
        using var pack = ModelPack.Load(s.Pack, new OnnxSessionFactory(sessions));
        if (!pack.HasImage) throw new ArgumentException($"pack {pack.Name} has no image tower");

        progress("encoder only");
        var (encoderRate, inferenceCoreMs) = EncoderOnly(pack, photos);
        progress("embed pipeline");
        double embedRate;
        MediaEncoded[] encoded;
        await using (var embed = new EncodeStage([pack], _ => false, new EncodeSettings { PerceptualHashes = false, MaxBatch = Batch }))
        {
            await EncodeAll(embed, photos);
            var passes = new double[Passes];
            for (var p = 0; p < Passes; p++)
            {
                var clock = Stopwatch.StartNew();
                await EncodeAll(embed, photos);
                passes[p] = photos.Length / clock.Elapsed.TotalSeconds;
            }
            embedRate = Median(passes);
        }
        progress("ingest");
        for (var w = 0; w < 2; w++) await s.Ingest(photos);
        var ingests = new double[Passes];
        for (var p = 0; p < Passes; p++) ingests[p] = photos.Length / (await s.Ingest(photos)).TotalSeconds;
        var ingestRate = Median(ingests);
        double? reprocessRate = null;
        if (s.Reprocess is { } reprocess)
        {
            progress("reprocess");
            await reprocess(photos);
            var runs = new double[Passes];
            for (var p = 0; p < Passes; p++) runs[p] = photos.Length / (await reprocess(photos)).TotalSeconds;
            reprocessRate = Math.Round(Median(runs), 1);
        }

        progress("stage costs");
        var stages = new List<StageCost>();
        DecodeOptions decodeOptions;
        await using (var ingestStage = new EncodeStage([pack], _ => false, new EncodeSettings { MaxBatch = Batch }))
        {
            decodeOptions = ingestStage.DecodeOptions;
            encoded = await EncodeAll(ingestStage, photos);
        }
        var detectCoreMs = DetectCatalogCoreMs(encoded);
        // Tiered compilation: 60 untimed rounds over every image first, so that no stage is timed in instrumented code.
        for (var round = 0; round < 60; round++)
            foreach (var image in s.StageImages) Stages(image, pack, decodeOptions, 0, 0, repeats: 1);
        Thread.Sleep(500);
        foreach (var image in s.StageImages) stages.Add(Stages(image, pack, decodeOptions, inferenceCoreMs, detectCoreMs));

        progress("start-up");
        var first = photos[0];
        string[] embedOne = ["embed", "--pack", pack.Directory, "--image", first];
        var startup = MedianWall(s.MediaExecutable, embedOne, tunables: Environment.GetEnvironmentVariable(Tunables));
        var startupPlain = MedianWall(s.MediaExecutable, embedOne, tunables: null);
        PeerPipelineFigures? node = null;
        if (s.PeerScript is { } script)
        {
            progress("node peer");
            string[] peerOne = [script, "--pack", pack.Directory, "--one", first];
            var peerStartup = MedianWall("node", peerOne, tunables: null);
            var peerStartupHuge = MedianWall("node", peerOne, tunables: HugePages);
            var output = Run("node", [script, "--pack", pack.Directory, "--photos", s.Photos, "--passes", (Passes + 1).ToString(CultureInfo.InvariantCulture)], tunables: null);
            using var doc = JsonDocument.Parse(output);
            node = new PeerPipelineFigures(Math.Round(doc.RootElement.GetProperty("imagesPerSecond").GetDouble(), 1), Math.Round(peerStartup, 2), Math.Round(peerStartupHuge, 2));
        }
        return new PipelineBenchmarkResult(photos.Length, sessions.EffectiveIntraOpThreads, Math.Round(encoderRate, 1), Math.Round(embedRate, 1),
            Math.Round(ingestRate, 1), Math.Round(startup, 2), Math.Round(startupPlain, 2), node, stages, reprocessRate);
    }

    static async Task<MediaEncoded[]> EncodeAll(EncodeStage stage, string[] photos)
    {
        var results = new List<MediaEncoded>(photos.Length);
        await foreach (var e in stage.EncodeStreamAsync(photos.Select(p => new MediaSubmitted(Guid.NewGuid(), Guid.Empty, new MediaSource(Path: p)))))
        {
            if (e.Error is { } error) throw new ArgumentException($"{e.Path}: {error}");
            results.Add(e);
        }
        return results.ToArray();
    }

    /// <summary>Preprocessed tensors straight into ONNX Runtime in batches of 16, a warm pass then a timed one: images/s,
    /// and the process CPU time per image (core-ms) of the timed pass.</summary>
    static (double Rate, double CoreMs) EncoderOnly(ModelPack pack, string[] photos)
    {
        var encoder = pack.Image!;
        var pre = new ClipImagePreprocessor(encoder.Preprocessing);
        var decoder = new ImageDecoder();
        var per = pre.ValuesPerImage;
        var tensors = new float[photos.Length * per];
        Parallel.For(0, photos.Length, i => pre.Preprocess(decoder.Decode(File.ReadAllBytes(photos[i]), new DecodeOptions { MinShortSide = encoder.Preprocessing.Size }).Image,
            tensors.AsSpan(i * per, per)));
        void Pass()
        {
            for (var start = 0; start < photos.Length; start += Batch)
            {
                var n = Math.Min(Batch, photos.Length - start);
                encoder.Encode(tensors.AsSpan(start * per, n * per).ToArray(), n);
            }
        }
        Pass();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        Pass();
        var wall = clock.Elapsed.TotalSeconds;
        var coreMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / photos.Length;
        return (photos.Length / wall, coreMs);
    }

    /// <summary>Process CPU time per item of the detect role (catalog write, indexes, rules, group commit of 16) over
    /// already encoded items into a fresh temporary catalog.</summary>
    static double DetectCatalogCoreMs(MediaEncoded[] encoded)
    {
        var dir = Path.Combine(Path.GetTempPath(), "media-bench-pipeline-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var catalog = Catalogs.Open(dir);
            using var store = new IndexedCatalog(catalog, new IndexSettings());
            var policy = new DetectionPolicy();
            var detector = new DuplicateDetector(store, policy, [new AnomalyRule(store, policy.Anomaly)]);
            detector.Process(encoded[0] with { SubmissionId = Guid.NewGuid(), Path = "warm-up", Sha256 = new string('0', 64) });
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            // In batches of up to 16, as the detect role's DetectionQueue decides and commits a burst.
            foreach (var batch in encoded.Skip(1).Chunk(16))
                foreach (var outcome in detector.ProcessBatch(batch))
                    if (outcome.Error is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            return (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / Math.Max(1, encoded.Length - 1);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Per-stage thread CPU time of one image, the median of <paramref name="repeats"/> repetitions per stage, core-ms.</summary>
    static StageCost Stages(string path, ModelPack pack, DecodeOptions decodeOptions, double inferenceCoreMs, double detectCoreMs, int repeats = 21)
    {
        var pre = new ClipImagePreprocessor(pack.Image!.Preprocessing);
        var decoder = new ImageDecoder();
        var tensor = new float[pre.ValuesPerImage];
        var read = new double[repeats];
        var decode = new double[repeats];
        var pdq = new double[repeats];
        var preprocess = new double[repeats];
        DecodedImage? decoded = null;
        for (var r = 0; r < repeats; r++)
        {
            var t0 = ThreadCpu.Milliseconds();
            var bytes = File.ReadAllBytes(path);
            ContentHash.Sha256Hex(bytes);
            var t1 = ThreadCpu.Milliseconds();
            try { decoded = decoder.Decode(bytes, decodeOptions); }
            catch (MediaRejectedException ex) { throw new ArgumentException($"{path}: {ex.Message}", ex); }
            var t2 = ThreadCpu.Milliseconds();
            PdqHasher.Hash(decoded.Stored);
            var t3 = ThreadCpu.Milliseconds();
            pre.Preprocess(decoded.Image, tensor);
            var t4 = ThreadCpu.Milliseconds();
            (read[r], decode[r], pdq[r], preprocess[r]) = (t1 - t0, t2 - t1, t3 - t2, t4 - t3);
        }
        return new StageCost(Path.GetFileName(path), decoded!.Width, decoded.Height, decoded.Stored.Width, decoded.Stored.Height,
            Math.Round(Median(read), 2), Math.Round(Median(decode), 2), Math.Round(Median(pdq), 2), Math.Round(Median(preprocess), 2), Math.Round(inferenceCoreMs, 1), Math.Round(detectCoreMs, 2));
    }

    const string Tunables = "GLIBC_TUNABLES";
    const string HugePages = "glibc.malloc.hugetlb=1";

    /// <summary>Median wall time of 3 runs of a whole process, after one untimed run (which warms the page cache and the
    /// pack stamp), with <c>GLIBC_TUNABLES</c> set to <paramref name="tunables"/> (removed when null).</summary>
    static double MedianWall(string file, string[] args, string? tunables)
    {
        Run(file, args, tunables);
        var times = new double[3];
        for (var i = 0; i < times.Length; i++)
        {
            var clock = Stopwatch.StartNew();
            Run(file, args, tunables);
            times[i] = clock.Elapsed.TotalSeconds;
        }
        return times.Order().ElementAt(1);
    }

    static string Run(string file, string[] args, string? tunables)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (tunables is null) psi.Environment.Remove(Tunables);
        else psi.Environment[Tunables] = tunables;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {p.ExitCode}: {stderr.Result.Trim()}");
        return stdout;
    }

    /// <summary>CPU time of the calling thread (<c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>, Linux; nanosecond resolution,
    /// where <c>getrusage</c> counts in scheduler ticks).</summary>
    static class ThreadCpu
    {
        [StructLayout(LayoutKind.Sequential)]
        struct TimeSpec { public long Seconds, Nanoseconds; }

        [DllImport("libc", SetLastError = true)]
        static extern int clock_gettime(int clock, out TimeSpec time);

        const int ClockThreadCpuTime = 3;

        public static double Milliseconds()
        {
            if (clock_gettime(ClockThreadCpuTime, out var t) != 0)
                throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed: " + Marshal.GetLastPInvokeError().ToString(CultureInfo.InvariantCulture));
            return t.Seconds * 1000.0 + t.Nanoseconds / 1e6;
        }
    }
}
