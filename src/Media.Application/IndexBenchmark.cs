using System.Diagnostics;
using System.Numerics.Tensors;
using Media.Catalog;
using Media.Contracts.V1;
using Media.Detection;
using Media.Domain;
using Media.Hashing;
using Media.Index;

namespace Media.Application;

/// <summary>Settings of <see cref="IndexBenchmark"/>.</summary>
/// <param name="Items">N: items to detect and index.</param>
/// <param name="Dimension">D: embedding length.</param>
/// <param name="DataDirectory">Catalog folder (created when absent; it must hold no catalog yet).</param>
/// <param name="Queries">Search queries for recall and latency.</param>
/// <param name="Seed">Random seed: the same seed gives the same data.</param>
/// <param name="HnswlibScript">The hnswlib peer's script (<c>tools/bench_hnswlib.py</c>), or null to skip the peer.</param>
public sealed record IndexBenchmarkSettings(int Items, int Dimension, string DataDirectory, int Queries = 1000, int Seed = 1, string? HnswlibScript = null);

/// <summary>The peer's figures on the same vectors and queries.</summary>
public sealed record PeerFigures(double Qps, double RecallAt10, int Ef, double BuildSeconds)
{
    /// <summary>Queries per second one at a time on one thread.</summary>
    public double QpsSingleThread { get; init; }
}

/// <summary>What <c>media bench index</c> prints (one JSON object). <c>EfSearch</c>: the HNSW efSearch the search figures
/// were taken at, the smallest of 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512 whose recall@10 reaches 0.95, as for
/// the peer (null for an exact index); <c>RecallAtDefaultEf</c>: recall@10 at the service's default efSearch,
/// <c>DefaultEfSearch</c> (64, grown with the index's size: <see cref="HnswOptions.EfSearchGrowth"/>);
/// <c>MaxDetectMs</c>: the slowest batch of the measured tail, from its first decision to its commit (each item of a
/// batch waits that long on the detect thread, <see cref="DetectionBatch"/>); <c>MaxDetectGcPauseMs</c>: of it, the
/// time the garbage collector paused the process (<see cref="GC.GetTotalPauseDuration"/>).</summary>
public sealed record IndexBenchmarkResult(
    int Items, int Dimension, string VectorIndex, double DetectItemsPerSecond, double RecallAt10, double SearchP50Ms, double SearchP99Ms,
    double Qps, double QpsSingleThread, double ReopenSeconds, long RssBytes, long PeakRssBytes, double MaxDetectMs, PeerFigures? Hnswlib,
    int? EfSearch = null, double? RecallAtDefaultEf = null, int? DefaultEfSearch = null, double? MaxDetectGcPauseMs = null);

/// <summary>
/// The index benchmark, part of the product: N clustered unit vectors (a Gaussian mixture, as real CLIP embeddings
/// cluster; about one centre per thousand items, noise of norm 0.7 around unit centres) with random PDQ hashes and their
/// 8 dihedral variants go through the real detect-and-index path (<see cref="DetectionQueue"/> and <see cref="DuplicateDetector"/>: PDQ, embedding
/// near-duplicates, the anomaly rule, group commit) into a catalog, handed in as the detect consumers do; then recall@10 of top-10 search against exact search over
/// <see cref="IndexBenchmarkSettings.Queries"/> fresh queries from the same mixture at the smallest efSearch that reaches
/// recall@10 0.95 (the peer is tuned the same way), search latency and throughput there, the
/// time to reopen (snapshot + catalog), resident memory, and optionally hnswlib on the same vectors in the same run.
/// </summary>
public static class IndexBenchmark
{
    /// <summary>Batches of the measured tail slower than this are reported one by one in the progress lines.</summary>
    const double SlowItemMs = 50;

    /// <exception cref="ArgumentException">A catalog already exists in the data folder, or bad sizes.</exception>
    public static IndexBenchmarkResult Run(IndexBenchmarkSettings s, IndexSettings index, Action<string>? progress = null)
    {
        if (s.Items < 1 || s.Dimension < 2 || s.Queries < 1) throw new ArgumentException("need --n ≥ 1, --dim ≥ 2 and ≥ 1 query");
        if (Catalogs.Exists(s.DataDirectory)) throw new ArgumentException($"{s.DataDirectory} already holds a catalog: give an empty folder");
        progress ??= _ => { };
        // The vectors are generated as they are needed, and again for the ground truth and the peer, from their own seeded
        // stream: the benchmark holds no copy of them, so the resident memory it reports is the service's.
        var rng = new Random(s.Seed);
        var mixture = new Mixture(rng, s.Dimension, Math.Max(16, s.Items / 1000));
        var vectorSeed = s.Seed * 7919 + 1;

        var snapshot = Path.Combine(s.DataDirectory, "index.snapshot");
        var settings = index with { SnapshotFile = snapshot };
        double detectRate, maxDetectMs = 0, maxDetectGcPauseMs = 0;
        string kind;
        using (var catalog = Catalogs.Open(s.DataDirectory))
        {
            using var store = new IndexedCatalog(catalog, settings);
            var policy = new DetectionPolicy();
            var anomaly = new AnomalyRule(store, policy.Anomaly);
            var detector = new DuplicateDetector(store, policy, [anomaly]);
            var tail = Math.Max(1, s.Items / 10);
            // The tail is timed from the commit of the batch that completes item N − tail to the last commit, with the
            // batches' own times for the slowest wait; read once the queue has stopped (its thread reports them).
            long completed = 0, tailStarted = 0, tailEnded = 0, tailFrom = 0;
            var queue = new DetectionQueue(detector, onBatch: b =>
            {
                completed += b.Items;
                if (completed > s.Items - tail && tailStarted != 0)
                {
                    var ms = b.Elapsed.TotalMilliseconds;
                    if (ms > SlowItemMs) progress($"slow batch of {b.Items} items up to item {completed}: {ms:0.0} ms, of it {b.Commit.TotalMilliseconds:0.0} ms the catalog commit and {b.GcPause.TotalMilliseconds:0.0} ms GC pauses");
                    if (ms > maxDetectMs) (maxDetectMs, maxDetectGcPauseMs) = (ms, b.GcPause.TotalMilliseconds);
                }
                if (tailStarted == 0 && completed >= s.Items - tail) (tailStarted, tailFrom) = (Stopwatch.GetTimestamp(), completed);
                tailEnded = Stopwatch.GetTimestamp();
            });
            // As the detect consumers hand items in: enough in flight to fill the next batch while one is decided.
            var inFlight = new Queue<Task<SubmissionRecord>>();
            var window = 2 * queue.MaxBatch;
            var hash = new byte[32];
            var stream = mixture.Stream(vectorSeed).GetEnumerator();
            var runStarted = Stopwatch.GetTimestamp();
            for (var i = 0; i < s.Items; i++)
            {
                stream.MoveNext();
                rng.NextBytes(hash);
                var pdq = Convert.ToHexStringLower(hash);
                var dihedral = new string[8];
                dihedral[0] = pdq;
                for (var v = 1; v < 8; v++) { rng.NextBytes(hash); dihedral[v] = Convert.ToHexStringLower(hash); }
                rng.NextBytes(hash);
                var item = new MediaEncoded(Guid.NewGuid(), Guid.Empty, $"bench/{i}.jpg", Convert.ToHexStringLower(hash), false, Modalities.Image, "jpeg",
                    1000, 640, 480, pdq, 100, dihedral, [new PackEmbedding("bench", "1", "bench", true, stream.Current)]);
                if (inFlight.Count == window) inFlight.Dequeue().GetAwaiter().GetResult();
                inFlight.Enqueue(queue.ProcessAsync(item));
                if ((i + 1) % Math.Max(1, s.Items / 20) == 0) progress($"detect+index: {i + 1}/{s.Items} ({Memory()})");
            }
            while (inFlight.Count > 0) inFlight.Dequeue().GetAwaiter().GetResult();
            queue.Dispose();
            // A tail within one batch (a few items) has no time of its own: then the whole run's rate.
            detectRate = tailFrom < s.Items
                ? (s.Items - tailFrom) / Stopwatch.GetElapsedTime(tailStarted, tailEnded).TotalSeconds
                : s.Items / Stopwatch.GetElapsedTime(runStarted, tailEnded).TotalSeconds;
            anomaly.CalibrationsSettled().GetAwaiter().GetResult();
            kind = store.Space(new PackKey("bench", "1"))!.Index.GetType().Name;
            store.SaveSnapshot();
        }

        progress($"reopening ({Memory()})");
        var reopenClock = Stopwatch.StartNew();
        using var reopenedCatalog = Catalogs.Open(s.DataDirectory);
        var reopened = new IndexedCatalog(reopenedCatalog, settings);
        var reopenSeconds = reopenClock.Elapsed.TotalSeconds;
        var searchIndex = reopened.Space(new PackKey("bench", "1"))!.Index;

        progress($"exact ground truth ({Memory()})");
        var queries = new float[s.Queries * s.Dimension];
        for (var q = 0; q < s.Queries; q++) mixture.Sample(rng, queries.AsSpan(q * s.Dimension, s.Dimension));
        var truth = ExactTop10(mixture.Stream(vectorSeed).Take(s.Items), queries, s.Dimension);

        progress("search");
        // As for the peer: the smallest efSearch whose recall@10 reaches 0.95, so both are compared at the same recall.
        var hnsw = (searchIndex as BufferedVectorIndex)?.Inner as HnswVectorIndex ?? searchIndex as HnswVectorIndex;
        int? tunedEf = null, defaultEf = null;
        double? recallAtDefault = null;
        if (hnsw is not null)
        {
            defaultEf = hnsw.EffectiveEfSearch;
            recallAtDefault = Recall(searchIndex, queries, truth, s.Dimension);
            hnsw.GrowEfSearch = false; // from here on, exactly the ef being tried
            foreach (var ef in new[] { 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512 })
            {
                hnsw.EfSearch = ef;
                tunedEf = ef;
                if ((ef == defaultEf ? recallAtDefault : Recall(searchIndex, queries, truth, s.Dimension)) >= 0.95) break;
            }
        }
        var latencies = new double[s.Queries];
        var found = 0;
        var single = Stopwatch.StartNew();
        for (var q = 0; q < s.Queries; q++)
        {
            var t = Stopwatch.GetTimestamp();
            var hits = searchIndex.Search(queries.AsSpan(q * s.Dimension, s.Dimension), 10);
            latencies[q] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            found += hits.Count(h => truth[q].Contains(h.Id));
        }
        var singleQps = s.Queries / single.Elapsed.TotalSeconds;
        var parallel = Stopwatch.StartNew();
        Parallel.For(0, s.Queries, q => searchIndex.Search(queries.AsSpan(q * s.Dimension, s.Dimension), 10));
        var qps = s.Queries / parallel.Elapsed.TotalSeconds;
        Array.Sort(latencies);

        PeerFigures? peer = null;
        if (s.HnswlibScript is { } script)
        {
            progress("hnswlib");
            peer = Hnswlib.Run(script, mixture.Stream(vectorSeed).Take(s.Items), queries, truth, s.Dimension, s.DataDirectory);
        }
        var rss = Environment.WorkingSet;
        return new IndexBenchmarkResult(s.Items, s.Dimension, kind, Math.Round(detectRate, 1), Math.Round(found / (10.0 * s.Queries), 4),
            Math.Round(latencies[latencies.Length / 2], 3), Math.Round(latencies[(int)(latencies.Length * 0.99)], 3), Math.Round(qps, 1), Math.Round(singleQps, 1),
            Math.Round(reopenSeconds, 2), rss, PeakRss(), Math.Round(maxDetectMs, 1), peer, tunedEf, recallAtDefault is { } r ? Math.Round(r, 4) : null, defaultEf,
            Math.Round(maxDetectGcPauseMs, 1));
    }

    /// <summary>recall@10 of <paramref name="index"/> over the queries, against the exact top-10.</summary>
    static double Recall(IVectorIndex index, float[] queries, HashSet<long>[] truth, int d)
    {
        var found = 0;
        for (var q = 0; q < truth.Length; q++)
            found += index.Search(queries.AsSpan(q * d, d), 10).Count(h => truth[q].Contains(h.Id));
        return found / (10.0 * truth.Length);
    }

    /// <summary>The exact top-10 ids (sequence = row + 1) of every query by brute force, over the vectors in blocks of
    /// 4096 rows with the queries split across all cores.</summary>
    static HashSet<long>[] ExactTop10(IEnumerable<float[]> vectors, float[] queries, int d)
    {
        var count = queries.Length / d;
        var heaps = Enumerable.Range(0, count).Select(_ => new PriorityQueue<long, float>()).ToArray();
        var block = new List<float[]>(4096);
        long first = 1;
        void Flush()
        {
            Parallel.For(0, count, q =>
            {
                var query = queries.AsSpan(q * d, d);
                var heap = heaps[q];
                for (var i = 0; i < block.Count; i++)
                {
                    var sim = TensorPrimitives.Dot(query, block[i]);
                    if (heap.Count < 10) heap.Enqueue(first + i, sim);
                    else if (heap.TryPeek(out _, out var worst) && sim > worst) heap.EnqueueDequeue(first + i, sim);
                }
            });
            first += block.Count;
            block.Clear();
        }
        foreach (var v in vectors)
        {
            block.Add(v);
            if (block.Count == 4096) Flush();
        }
        Flush();
        return [.. heaps.Select(h => h.UnorderedItems.Select(x => x.Element).ToHashSet())];
    }

    /// <summary>Resident memory now and at its peak so far, and the garbage collector's work so far, for progress lines.</summary>
    static string Memory()
    {
        var gc = GC.GetGCMemoryInfo();
        return $"resident {Environment.WorkingSet / 1e9:F2} GB, peak {PeakRss() / 1e9:F2} GB; managed heap {gc.HeapSizeBytes / 1e9:F2} GB " +
               $"(fragmented {gc.FragmentedBytes / 1e9:F2} GB, committed {gc.TotalCommittedBytes / 1e9:F2} GB); " +
               $"collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} (gen 0/1/2), paused {GC.GetTotalPauseDuration().TotalSeconds:F1} s";
    }

    /// <summary>Peak resident set (VmHWM) on Linux, else the current working set.</summary>
    static long PeakRss()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            if (line is not null) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException) { }
        return Environment.WorkingSet;
    }

    /// <summary>A Gaussian mixture on the unit sphere: unit centres, isotropic noise of total norm ≈ 0.7, renormalised.</summary>
    sealed class Mixture
    {
        readonly float[][] _centres;
        readonly float _sigma;

        public Mixture(Random rng, int d, int centres)
        {
            _sigma = 0.7f / MathF.Sqrt(d);
            _centres = new float[centres][];
            for (var c = 0; c < centres; c++)
            {
                var v = new float[d];
                for (var i = 0; i < d; i++) v[i] = Gaussian(rng);
                TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
                _centres[c] = v;
            }
        }

        /// <summary>An endless stream of samples from its own generator: the same seed gives the same vectors.</summary>
        public IEnumerable<float[]> Stream(int seed)
        {
            var rng = new Random(seed);
            while (true)
            {
                var v = new float[_centres[0].Length];
                Sample(rng, v);
                yield return v;
            }
        }

        /// <summary>One sample. Box–Muller gives two independent normals per pair of uniforms and both are used: the
        /// generator runs on the detect thread, inside the measured time, so it should cost as little as it can.</summary>
        public void Sample(Random rng, Span<float> into)
        {
            var centre = _centres[rng.Next(_centres.Length)];
            for (var i = 0; i < into.Length; i += 2)
            {
                var radius = _sigma * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble()));
                var (sin, cos) = Math.SinCos(2 * Math.PI * rng.NextDouble());
                into[i] = centre[i] + (float)(radius * cos);
                if (i + 1 < into.Length) into[i + 1] = centre[i + 1] + (float)(radius * sin);
            }
            TensorPrimitives.Divide(into, TensorPrimitives.Norm(into), into);
        }

        static float Gaussian(Random rng) => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
    }
}
