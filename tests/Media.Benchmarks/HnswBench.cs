using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text.Json;
using Media.Index;

namespace Media.Benchmarks;

/// <summary>
/// The HNSW measurement of docs/hnsw-measurement.md, side by side in one run: this repository's <see cref="HnswVectorIndex"/>,
/// python3-hnswlib (tools/bench_hnswlib.py) and, when given a driver, FAISS IndexHNSWFlat, on one clustered data set with
/// exact ground truth. Not a BenchmarkDotNet suite: builds take minutes and recall is part of the answer.
/// <code>
/// dotnet run -c Release --project tests/Media.Benchmarks -- hnsw [--n 200000] [--dim 512] [--queries 1000] [--centres 1000]
///     [--ef 10,12,16,24,32,48,64,96,128,256] [--only csharp,hnswlib,faiss] [--faiss DRIVER[,DRIVER]] [--crossover] [--quantized]
/// dotnet run -c Release --project tests/Media.Benchmarks -- hnsw --paired [--rounds 5] [--ef …] [--faiss DRIVER]
/// </code>
/// The first form builds every index and sweeps ef library after library. <c>--paired</c> loads (or builds once and saves)
/// the indexes, keeps hnswlib and FAISS running as servers, and measures the libraries in turn, round after round at
/// each ef, reporting medians: on a shared machine that is what makes their figures comparable.
/// Data (written once to .bench/hnsw/…): a Gaussian mixture of unit vectors, each point a random centre plus noise whose
/// per-dimension standard deviation falls as σ/√(rank+1) (ranks permuted per centre: an effective dimension near 30, as
/// embeddings have), normalised; queries from the same mixture; ground truth by exact search. Files: base.bin and
/// queries.bin (int32 n, int32 d, float32 rows), truth.bin (int32 nq, int32 k, int32 ids).
/// </summary>
public static class HnswBench
{
    const int K = 10;

    public static void Run(string[] args)
    {
        var o = Parse(args);
        int n = o.Int("n", 200_000), d = o.Int("dim", 512), nq = o.Int("queries", 1000), centres = o.Int("centres", 1000);
        var sigma = o.Double("sigma", 0.27);
        var efs = o.Get("ef", "10,12,16,24,32,48,64,96,128,256").Split(',').Select(int.Parse).ToArray();
        var only = o.Get("only", "csharp,hnswlib,faiss").Split(',');
        var dir = Path.Combine(BenchData.Root, "hnsw", $"n{n}-d{d}-c{centres}-s{sigma.ToString(CultureInfo.InvariantCulture)}-q{nq}");
        Console.WriteLine($"# HNSW measurement: {n} × {d}, {centres} centres, σ {sigma}, {nq} queries, k {K}; {Environment.ProcessorCount} cores; {RuntimeInformation.OSArchitecture}, " +
                          $"Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, Vector256 {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}");
        var (data, queries, truth) = Prepare(dir, n, d, nq, centres, sigma);
        Describe(data, queries, truth, n, d);
        if (o.Has("paired"))
        {
            Paired(dir, data, queries, truth, d, efs, o.Int("rounds", 5), o.Get("faiss", "").Split(',', StringSplitOptions.RemoveEmptyEntries));
            return;
        }
        var rows = new List<Row>();
        if (only.Contains("csharp")) rows.AddRange(MeasureCSharp(data, queries, truth, n, d, efs, o.Has("quantized")));
        if (o.Has("crossover")) Crossover(data, queries, d);
        if (only.Contains("hnswlib"))
            rows.AddRange(External("hnswlib", "/usr/bin/python3", [Path.Combine(BenchData.RepoRoot, "tools", "bench_hnswlib.py"), "--data", dir, "--ef", string.Join(',', efs)]));
        // --faiss takes one or more drivers (comma-separated): a build against libfaiss.a as packaged, and one with a SIMD
        // inner product linked over the packaged scalar one (named …avx512…), to see FAISS's graph code with a fair kernel.
        if (only.Contains("faiss"))
            foreach (var faiss in o.Get("faiss", "").Split(',', StringSplitOptions.RemoveEmptyEntries))
                rows.AddRange(External(faiss.Contains("avx512") ? "faiss+avx512 dot" : "faiss", faiss, [dir, string.Join(',', efs)]));
        Report(rows, Path.Combine(dir, $"results-{DateTime.UtcNow:yyyyMMdd-HHmmss}.md"));
    }

    /// <summary>One index at one ef: build figures (repeated on every row of that index) and search figures.</summary>
    sealed record Row(string Lib, int Ef, double Recall, double Qps1, double Qps2, double P50Us, double P99Us, double CpuUsPerQuery,
                      double BuildPerS, double BuildCpuPerS, double DetectIndexPerS, double DetectIndexCpuPerS, double MemoryMb);

    // ---- data ---------------------------------------------------------------------------------------------------------

    static (float[] Data, float[] Queries, int[] Truth) Prepare(string dir, int n, int d, int nq, int centres, double sigma)
    {
        string basePath = Path.Combine(dir, "base.bin"), queryPath = Path.Combine(dir, "queries.bin"), truthPath = Path.Combine(dir, "truth.bin");
        if (File.Exists(truthPath))
            return (ReadMatrix(basePath, out _, out _), ReadMatrix(queryPath, out _, out _), ReadTruth(truthPath));
        Directory.CreateDirectory(dir);
        var sw = Stopwatch.StartNew();
        var rng = new Random(20160330);
        var means = new float[centres * d];
        var ranks = new int[centres * d];
        for (var c = 0; c < centres; c++)
        {
            var m = means.AsSpan(c * d, d);
            for (var i = 0; i < d; i++) m[i] = Gauss(rng);
            TensorPrimitives.Divide(m, TensorPrimitives.Norm(m), m);
            var r = ranks.AsSpan(c * d, d);
            for (var i = 0; i < d; i++) r[i] = i;
            rng.Shuffle(r);
        }
        var weights = Enumerable.Range(0, d).Select(i => (float)(sigma / Math.Sqrt(i + 1))).ToArray();
        float[] Sample(int count, int seed)
        {
            var rows = new float[(long)count * d];
            Parallel.For(0, (count + 4095) / 4096, new ParallelOptions { MaxDegreeOfParallelism = 2 }, block =>
            {
                var r = new Random(seed * 7919 + block);
                for (var row = block * 4096; row < Math.Min(count, (block + 1) * 4096); row++)
                {
                    var c = r.Next(centres);
                    var v = rows.AsSpan(row * d, d);
                    for (var i = 0; i < d; i++) v[i] = means[c * d + i] + weights[ranks[c * d + i]] * Gauss(r);
                    TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
                }
            });
            return rows;
        }
        var data = Sample(n, 1);
        var queries = Sample(nq, 2);
        Console.WriteLine($"# generated data in {sw.Elapsed.TotalSeconds:F1} s");
        sw.Restart();
        var truth = GroundTruth(data, queries, n, d, nq);
        Console.WriteLine($"# exact ground truth in {sw.Elapsed.TotalSeconds:F1} s");
        WriteMatrix(basePath, data, n, d);
        WriteMatrix(queryPath, queries, nq, d);
        using (var w = new BinaryWriter(File.Create(truthPath)))
        {
            w.Write(nq);
            w.Write(K);
            w.Write(MemoryMarshal.AsBytes(truth.AsSpan()));
        }
        return (data, queries, truth);
    }

    static float Gauss(Random r) => (float)(Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble()));

    /// <summary>Exact top-k by blocks of rows (kept in cache) against every query of a thread's half.</summary>
    static int[] GroundTruth(float[] data, float[] queries, int n, int d, int nq)
    {
        var truth = new int[nq * K];
        Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, half =>
        {
            int q0 = half * nq / 2, q1 = (half + 1) * nq / 2;
            var best = new (float D, int Id)[(q1 - q0) * K];
            Array.Fill(best, (float.MaxValue, int.MaxValue));
            const int block = 256;
            for (var r0 = 0; r0 < n; r0 += block)
                for (var q = q0; q < q1; q++)
                {
                    var query = queries.AsSpan(q * d, d);
                    var top = best.AsSpan((q - q0) * K, K);
                    for (var row = r0; row < Math.Min(n, r0 + block); row++)
                    {
                        var dist = 1 - TensorPrimitives.Dot(query, data.AsSpan(row * d, d));
                        if (dist > top[K - 1].D || (dist == top[K - 1].D && row > top[K - 1].Id)) continue;
                        var i = K - 1;
                        while (i > 0 && (top[i - 1].D > dist || (top[i - 1].D == dist && top[i - 1].Id > row))) { top[i] = top[i - 1]; i--; }
                        top[i] = (dist, row);
                    }
                }
            for (var i = 0; i < best.Length; i++) truth[q0 * K + i] = best[i].Id;
        });
        return truth;
    }

    /// <summary>Prints how meaningful the neighbours are: distances of the 1st and 10th neighbour against a random row.</summary>
    static void Describe(float[] data, float[] queries, int[] truth, int n, int d)
    {
        double first = 0, tenth = 0, random = 0;
        var rng = new Random(9);
        var nq = queries.Length / d;
        for (var q = 0; q < nq; q++)
        {
            var query = queries.AsSpan(q * d, d);
            first += 1 - TensorPrimitives.Dot(query, data.AsSpan(truth[q * K] * d, d));
            tenth += 1 - TensorPrimitives.Dot(query, data.AsSpan(truth[q * K + K - 1] * d, d));
            random += 1 - TensorPrimitives.Dot(query, data.AsSpan(rng.Next(n) * d, d));
        }
        Console.WriteLine($"# mean cosine distance: 1st neighbour {first / nq:F3}, 10th {tenth / nq:F3}, random row {random / nq:F3} (relative contrast {random / first:F2})");
    }

    static float[] ReadMatrix(string path, out int n, out int d)
    {
        using var f = File.OpenRead(path);
        using var r = new BinaryReader(f);
        n = r.ReadInt32();
        d = r.ReadInt32();
        var m = new float[(long)n * d];
        f.ReadExactly(MemoryMarshal.AsBytes(m.AsSpan()));
        return m;
    }

    static void WriteMatrix(string path, float[] m, int n, int d)
    {
        using var w = new BinaryWriter(File.Create(path));
        w.Write(n);
        w.Write(d);
        w.Write(MemoryMarshal.AsBytes(m.AsSpan()));
    }

    static int[] ReadTruth(string path)
    {
        using var f = File.OpenRead(path);
        using var r = new BinaryReader(f);
        var nq = r.ReadInt32();
        var k = r.ReadInt32();
        if (k != K) throw new InvalidDataException($"truth has k {k}");
        var t = new int[nq * k];
        f.ReadExactly(MemoryMarshal.AsBytes(t.AsSpan()));
        return t;
    }

    // ---- this repository's index --------------------------------------------------------------------------------------

    static IEnumerable<Row> MeasureCSharp(float[] data, float[] queries, int[] truth, int n, int d, int[] efs, bool quantized)
    {
        foreach (var (name, options) in new[] { ("C# HNSW", new HnswOptions { ExactSearchThreshold = 0 }), ("C# HNSW int8", new HnswOptions { ExactSearchThreshold = 0, Quantize = true }) })
        {
            if (options.Quantize && !quantized) yield break;
            var (index, build) = BuildCSharp(name, data, n, d, options);
            foreach (var ef in efs) yield return Sweep(name, index, queries, truth, d, ef, build);
        }
    }

    /// <summary>Build figures of one C# index, carried on each of its rows.</summary>
    sealed record BuildFigures(double PerS, double CpuPerS, double DetectPerS, double DetectCpuPerS, double MemoryMb);

    /// <summary>Builds an index: plain adds, then a batch of detect+index (query, then add) on one thread, then the same
    /// pipelined over two threads.</summary>
    static (HnswVectorIndex, BuildFigures) BuildCSharp(string name, float[] data, int n, int d, HnswOptions options)
    {
        GC.Collect();
        var rss0 = Environment.WorkingSet;
        var index = new HnswVectorIndex(d, options);
        var batch = Math.Min(10_000, n / 20);
        var plain = n - 2 * batch;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < plain; i++)
        {
            index.Add(i, data.AsSpan(i * d, d));
            if (i % 20_000 == 19_999) Console.WriteLine($"#   {name} build {i + 1}: {(i + 1) / sw.Elapsed.TotalSeconds:F0}/s");
        }
        var build = plain / sw.Elapsed.TotalSeconds;
        var buildCpu = plain / (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        // Detect + index: what ingestion does per item, a near-duplicate query against the index, then the add.
        sw.Restart();
        cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = plain; i < plain + batch; i++)
        {
            index.Search(data.AsSpan(i * d, d), K);
            index.Add(i, data.AsSpan(i * d, d));
        }
        var detect = batch / sw.Elapsed.TotalSeconds;
        var detectCpu = batch / (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        // The same pipelined over the two cores: a detector thread queries, the writer thread adds what it has queried.
        sw.Restart();
        using (var queue = new System.Collections.Concurrent.BlockingCollection<int>(64))
        {
            var detector = Task.Run(() =>
            {
                for (var i = plain + batch; i < n; i++)
                {
                    index.Search(data.AsSpan(i * d, d), K);
                    queue.Add(i);
                }
                queue.CompleteAdding();
            });
            foreach (var i in queue.GetConsumingEnumerable()) index.Add(i, data.AsSpan(i * d, d));
            detector.Wait();
        }
        var pipelined = (n - plain - batch) / sw.Elapsed.TotalSeconds;
        GC.Collect();
        var memory = (Environment.WorkingSet - rss0) / 1e6;
        Console.WriteLine($"# {name}: build {build:F0}/s ({buildCpu:F0}/s of CPU), detect+index {detect:F0}/s ({detectCpu:F0}/s of CPU), " +
                          $"pipelined over 2 threads {pipelined:F0}/s, RSS +{memory:F0} MB (rows allocated {index.AllocatedBytes / 1e6:F0} MB)");
        return (index, new BuildFigures(build, buildCpu, detect, detectCpu, memory));
    }

    static Row Sweep(string lib, HnswVectorIndex index, float[] queries, int[] truth, int d, int ef, BuildFigures b)
    {
        var nq = queries.Length / d;
        // Warm up past tiered compilation (tier-1 code is compiled in the background after 30 calls and a 100 ms delay).
        var warm = Stopwatch.StartNew();
        for (var q = 0; warm.ElapsedMilliseconds < 500 || q < 200; q = (q + 1) % nq) index.Search(queries.AsSpan(q * d, d), K, ef);
        Thread.Sleep(200);
        // Three passes; QPS is the best pass (the machine is shared, so the slowest passes measure the neighbours),
        // latency percentiles pool all passes, CPU time is per query over all passes.
        const int passes = 3;
        var latency = new double[passes * nq];
        var found = 0;
        var qps1 = 0.0;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (var pass = 0; pass < passes; pass++)
        {
            var total = Stopwatch.StartNew();
            for (var q = 0; q < nq; q++)
            {
                var t = Stopwatch.GetTimestamp();
                var hits = index.Search(queries.AsSpan(q * d, d), K, ef);
                latency[pass * nq + q] = Stopwatch.GetElapsedTime(t).TotalMicroseconds;
                if (pass == 0)
                    foreach (var h in hits)
                        if (truth.AsSpan(q * K, K).Contains((int)h.Id)) found++;
            }
            qps1 = Math.Max(qps1, nq / total.Elapsed.TotalSeconds);
        }
        var cpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / (passes * nq);
        var qps2 = Enumerable.Range(0, passes).Max(_ => Parallel2(nq, q => index.Search(queries.AsSpan(q * d, d), K, ef)));
        Array.Sort(latency);
        var row = new Row(lib, ef, found / (double)(nq * K), qps1, qps2, latency[latency.Length / 2], latency[latency.Length * 99 / 100], cpuUs, b.PerS, b.CpuPerS, b.DetectPerS, b.DetectCpuPerS, b.MemoryMb);
        Console.WriteLine($"#   {lib} ef {ef}: recall {row.Recall:F4}, {qps1:F0} QPS (1 thread), {qps2:F0} QPS (2 threads), p50 {row.P50Us:F0} µs, p99 {row.P99Us:F0} µs");
        return row;
    }

    /// <summary>Queries per second over two threads, each taking every other query of the set.</summary>
    static double Parallel2(int nq, Action<int> search)
    {
        var sw = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            for (var q = t; q < nq; q += 2) search(q);
        })).ToArray();
        foreach (var th in threads) th.Start();
        foreach (var th in threads) th.Join();
        return nq / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Where exact search stops being faster: graph search at recall ≥ 0.95 against a scan, at growing sizes.</summary>
    static void Crossover(float[] data, float[] queries, int d)
    {
        var sizes = new[] { 500, 1000, 2000, 4000, 8000, 16000 };
        var index = new HnswVectorIndex(d, new HnswOptions { ExactSearchThreshold = 0 });
        var added = 0;
        var nq = Math.Min(200, queries.Length / d);
        Console.WriteLine("# exact/graph crossover (µs per query, 1 thread)");
        foreach (var size in sizes)
        {
            for (; added < size; added++) index.Add(added, data.AsSpan(added * d, d));
            double Time(Func<int, VectorNeighbor[]> search)
            {
                for (var q = 0; q < nq; q++) search(q);
                var sw = Stopwatch.StartNew();
                for (var rep = 0; rep < 3; rep++)
                    for (var q = 0; q < nq; q++) search(q);
                return sw.Elapsed.TotalMicroseconds / (3 * nq);
            }
            var exactHits = Enumerable.Range(0, nq).Select(q => index.ExactSearch(queries.AsSpan(q * d, d), K, null).Select(h => h.Id).ToHashSet()).ToArray();
            var ef = 16;
            for (; ef < 1024; ef += ef / 2)
            {
                var found = Enumerable.Range(0, nq).Sum(q => index.Search(queries.AsSpan(q * d, d), K, ef).Count(h => exactHits[q].Contains(h.Id)));
                if (found >= 0.95 * nq * K) break;
            }
            var exact = Time(q => index.ExactSearch(queries.AsSpan(q * d, d), K, null));
            var graph = Time(q => index.Search(queries.AsSpan(q * d, d), K, ef));
            Console.WriteLine($"#   N {size}: exact {exact:F0} µs, graph {graph:F0} µs at ef {ef}");
        }
    }

    // ---- paired: libraries in turn, round after round --------------------------------------------------------------

    /// <summary>A measuring process kept running: it answers "ef passes" lines with one JSON line.</summary>
    sealed class Server : IDisposable
    {
        readonly Process _p;
        public string Name { get; }

        public Server(string name, string program, string[] arguments)
        {
            Name = name;
            var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardInput = true };
            psi.Environment["OPENBLAS_NUM_THREADS"] = "1";
            foreach (var a in arguments) psi.ArgumentList.Add(a);
            _p = Process.Start(psi)!;
            while (_p.StandardOutput.ReadLine() is { } line)
            {
                Console.WriteLine($"#   {name}: {line}");
                if (line.Contains("\"ready\"")) return;
            }
            throw new InvalidOperationException($"{name} ended before it was ready");
        }

        public JsonElement Measure(int ef)
        {
            _p.StandardInput.WriteLine(ef.ToString(CultureInfo.InvariantCulture));
            _p.StandardInput.Flush();
            var line = _p.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"{Name} ended");
            return JsonDocument.Parse(line).RootElement.Clone();
        }

        public void Dispose()
        {
            _p.StandardInput.Close();
            _p.WaitForExit();
            _p.Dispose();
        }
    }

    static void Paired(string dir, float[] data, float[] queries, int[] truth, int d, int[] efs, int rounds, string[] faiss)
    {
        var index = LoadOrBuild(Path.Combine(dir, "csharp.hnsw"), data, d, new HnswOptions { ExactSearchThreshold = 0 });
        var int8 = LoadOrBuild(Path.Combine(dir, "csharp-int8.hnsw"), data, d, new HnswOptions { ExactSearchThreshold = 0, Quantize = true });
        // Past tiered compilation before anything is timed.
        foreach (var x in new[] { index, int8 })
            for (var q = 0; q < 3000; q++) x.Search(queries.AsSpan(q % (queries.Length / d) * d, d), K, 32);
        Thread.Sleep(300);
        var servers = new List<Server> { new("hnswlib", "/usr/bin/python3", [Path.Combine(BenchData.RepoRoot, "tools", "bench_hnswlib.py"), "--data", dir, "--serve"]) };
        servers.AddRange(faiss.Select(f => new Server(f.Contains("avx512") ? "faiss+avx512 dot" : "faiss", f, [dir, "serve"])));
        var names = new List<string> { "C# HNSW", "C# HNSW int8" };
        names.AddRange(servers.Select(s => s.Name));
        var results = names.ToDictionary(x => x, _ => new List<(int Ef, double Recall, double Qps1, double Qps2, double P50, double Cpu)>());
        foreach (var ef in efs)
        {
            for (var round = 0; round < rounds; round++)
            {
                // Rotate the order each round so no library always runs first or last.
                for (var j = 0; j < names.Count; j++)
                {
                    var name = names[(j + round) % names.Count];
                    if (name.StartsWith("C#"))
                    {
                        var r = SweepOnce(name.EndsWith("int8") ? int8 : index, queries, truth, d, ef);
                        results[name].Add((ef, r.Recall, r.Qps1, r.Qps2, r.P50, r.Cpu));
                    }
                    else
                    {
                        var j2 = servers.First(s => s.Name == name).Measure(ef);
                        results[name].Add((ef, j2.GetProperty("recall").GetDouble(), j2.GetProperty("qps1").GetDouble(), j2.GetProperty("qps2").GetDouble(),
                            j2.GetProperty("p50_us").GetDouble(), j2.GetProperty("cpu_us").GetDouble()));
                    }
                }
            }
            Console.WriteLine($"#   ef {ef}: " + string.Join("; ", names.Select(x => FormattableString.Invariant(
                $"{x} {Median(results[x].Where(r => r.Ef == ef).Select(r => r.Qps1)):F0} QPS"))));
        }
        foreach (var s in servers) s.Dispose();
        var lines = new List<string>
        {
            $"Paired: {rounds} rounds per ef, libraries in rotating order; medians over rounds (one pass of {queries.Length / d} queries each).",
            "",
            "| index | ef | recall@10 | QPS 1 thr | QPS 2 thr | p50 µs | CPU µs/query | QPS 1 thr / hnswlib (median of rounds) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        };
        foreach (var name in names)
            foreach (var ef in efs)
            {
                var rs = results[name].Where(r => r.Ef == ef).ToArray();
                var hn = results["hnswlib"].Where(r => r.Ef == ef).ToArray();
                var ratio = Median(rs.Zip(hn, (a, b) => a.Qps1 / b.Qps1));
                lines.Add(FormattableString.Invariant(
                    $"| {name} | {ef} | {rs[0].Recall:F4} | {Median(rs.Select(r => r.Qps1)):F0} | {Median(rs.Select(r => r.Qps2)):F0} | {Median(rs.Select(r => r.P50)):F0} | {Median(rs.Select(r => r.Cpu)):F0} | {ratio:F2} |"));
            }
        var outPath = Path.Combine(dir, $"paired-{DateTime.UtcNow:yyyyMMdd-HHmmss}.md");
        File.WriteAllLines(outPath, lines);
        Console.WriteLine();
        foreach (var l in lines) Console.WriteLine(l);
        Console.WriteLine($"\n(written to {outPath})");
    }

    /// <summary>An index saved by an earlier paired run, or a new one, built and saved.</summary>
    static HnswVectorIndex LoadOrBuild(string path, float[] data, int d, HnswOptions options)
    {
        if (File.Exists(path))
        {
            using var f = File.OpenRead(path);
            return HnswVectorIndex.Load(f);
        }
        var n = data.Length / d;
        var index = new HnswVectorIndex(d, options);
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++) index.Add(i, data.AsSpan(i * d, d));
        Console.WriteLine($"#   C# {(options.Quantize ? "int8 " : "")}built {n / sw.Elapsed.TotalSeconds:F0}/s");
        using (var f = File.Create(path)) index.Save(f);
        return index;
    }

    static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>One pass of the queries on one thread (latency per query), one on two threads.</summary>
    static (double Recall, double Qps1, double Qps2, double P50, double Cpu) SweepOnce(HnswVectorIndex index, float[] queries, int[] truth, int d, int ef)
    {
        var nq = queries.Length / d;
        for (var q = 0; q < Math.Min(100, nq); q++) index.Search(queries.AsSpan(q * d, d), K, ef);
        var latency = new double[nq];
        var found = 0;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var total = Stopwatch.StartNew();
        for (var q = 0; q < nq; q++)
        {
            var t = Stopwatch.GetTimestamp();
            var hits = index.Search(queries.AsSpan(q * d, d), K, ef);
            latency[q] = Stopwatch.GetElapsedTime(t).TotalMicroseconds;
            foreach (var h in hits)
                if (truth.AsSpan(q * K, K).Contains((int)h.Id)) found++;
        }
        var qps1 = nq / total.Elapsed.TotalSeconds;
        var cpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / nq;
        var qps2 = Parallel2(nq, q => index.Search(queries.AsSpan(q * d, d), K, ef));
        Array.Sort(latency);
        return (found / (double)(nq * K), qps1, qps2, latency[nq / 2], cpuUs);
    }

    // ---- other libraries ----------------------------------------------------------------------------------------------

    /// <summary>Runs a measuring process that prints one JSON object per line: build figures, then one per ef.</summary>
    static IEnumerable<Row> External(string lib, string program, string[] arguments)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true };
        psi.Environment["OPENBLAS_NUM_THREADS"] = "1";
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var rows = new List<Row>();
        double build = 0, buildCpu = 0, memory = 0;
        while (p.StandardOutput.ReadLine() is { } line)
        {
            Console.WriteLine($"#   {lib}: {line}");
            if (!line.StartsWith('{')) continue;
            var j = JsonDocument.Parse(line).RootElement;
            if (j.TryGetProperty("build_per_s", out var b))
            {
                build = b.GetDouble();
                buildCpu = j.GetProperty("build_cpu_per_s").GetDouble();
                memory = j.GetProperty("rss_mb").GetDouble();
                continue;
            }
            rows.Add(new Row(lib, j.GetProperty("ef").GetInt32(), j.GetProperty("recall").GetDouble(), j.GetProperty("qps1").GetDouble(),
                j.GetProperty("qps2").GetDouble(), j.GetProperty("p50_us").GetDouble(), j.GetProperty("p99_us").GetDouble(),
                j.GetProperty("cpu_us").GetDouble(), build, buildCpu, double.NaN, double.NaN, memory));
        }
        p.WaitForExit();
        if (p.ExitCode != 0) Console.WriteLine($"# {lib} exited with {p.ExitCode}");
        return rows;
    }

    static void Report(List<Row> rows, string path)
    {
        var lines = new List<string>
        {
            "| index | ef | recall@10 | QPS 1 thr | QPS 2 thr | p50 µs | p99 µs | CPU µs/query | build items/s (CPU) | detect+index items/s (CPU) | memory MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        };
        lines.AddRange(rows.Select(r => FormattableString.Invariant(
            $"| {r.Lib} | {r.Ef} | {r.Recall:F4} | {r.Qps1:F0} | {r.Qps2:F0} | {r.P50Us:F0} | {r.P99Us:F0} | {r.CpuUsPerQuery:F0} | {r.BuildPerS:F0} ({r.BuildCpuPerS:F0}) | {(double.IsNaN(r.DetectIndexPerS) ? "–" : $"{r.DetectIndexPerS:F0} ({r.DetectIndexCpuPerS:F0})")} | {r.MemoryMb:F0} |")));
        lines.Add("");
        lines.Add("At the smallest ef reaching recall@10 ≥ 0.95:");
        foreach (var g in rows.GroupBy(r => r.Lib))
            if (g.Where(r => r.Recall >= 0.95).MinBy(r => r.Ef) is { } best)
                lines.Add(FormattableString.Invariant($"- {g.Key}: ef {best.Ef}, recall {best.Recall:F4}, {best.Qps1:F0} QPS (1 thread), {best.Qps2:F0} QPS (2 threads), p50 {best.P50Us:F0} µs, p99 {best.P99Us:F0} µs"));
        File.WriteAllLines(path, lines);
        Console.WriteLine();
        foreach (var l in lines) Console.WriteLine(l);
        Console.WriteLine($"\n(written to {path})");
    }

    sealed class Options(Dictionary<string, string> values)
    {
        public string Get(string name, string fallback) => values.GetValueOrDefault(name, fallback);
        public int Int(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        public double Double(string name, double fallback) => values.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
        public bool Has(string name) => values.ContainsKey(name);
    }

    static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--")) throw new ArgumentException($"unexpected argument {args[i]}");
            var name = args[i][2..];
            values[name] = i + 1 < args.Length && !args[i + 1].StartsWith("--") ? args[++i] : "";
        }
        return new Options(values);
    }
}
