using System.Diagnostics;
using Media.Index;

namespace Media.Benchmarks;

/// <summary>
/// `Media.Benchmarks mih [N…]`: multi-index hashing against a linear scan on random 256-bit (PDQ-sized) hashes, as
/// detection queries them (8 variants per item, range 31), plus a radius sweep, k = 1 search, build time and memory;
/// and, for comparison, the Chromaprint inverted index at 10⁵ fingerprints. Prints Markdown tables (the figures of
/// docs/mih-measurement.md). Single-threaded; every MIH answer is checked against the scan's.
/// </summary>
public static class MihBench
{
    const int Queries = 200;

    public static void Run(string[] args)
    {
        var sizes = args.Length > 0 ? args.Select(int.Parse).ToArray() : [100_000, 1_000_000];
        Console.WriteLine($"{Environment.ProcessorCount} logical CPUs, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}");
        foreach (var n in sizes) Pdq(n);

        if (Environment.GetEnvironmentVariable("MIH_NO_AUDIO") is null) Chromaprint(100_000);
    }

    static void Pdq(int n)
    {
        var rng = new Random(n);
        var bases = Enumerable.Range(0, Queries).Select(_ => RandomCode(rng)).ToArray();
        // Each query base has 4 planted copies under random dihedral-style transforms, 0–40 bits further off.
        var transforms = bases.Select(_ => Enumerable.Range(0, 4).Select(_ => rng.Next(8)).ToArray()).ToArray();
        var planted = bases.SelectMany((b, i) => transforms[i].Select(t => Flip(Dihedral(b, t), rng.Next(0, 41), rng))).ToArray();
        var codes = new byte[n][];
        for (var i = 0; i < n; i++) codes[i] = RandomCode(rng);
        var step = n / planted.Length;
        for (var i = 0; i < planted.Length; i++) codes[i * step + rng.Next(step)] = planted[i];

        Console.WriteLine();
        Console.WriteLine($"### N = {n:N0}");
        var before = Retained();
        var flatBuild = Stopwatch.StartNew();
        var flat = new FlatBinaryIndex(256);
        for (var i = 0; i < n; i++) flat.Add(i + 1, codes[i]);
        flatBuild.Stop();
        var flatBytes = Retained() - before;
        before = Retained();
        var build = Stopwatch.StartNew();
        var mih = new MultiIndexHashing(256);
        for (var i = 0; i < n; i++) mih.Add(i + 1, codes[i]);
        var adds = build.Elapsed;
        mih.Rebuild();
        build.Stop();
        var mihBytes = Retained() - before;
        Console.WriteLine($"build: MIH {build.Elapsed.TotalMilliseconds:F0} ms (adds {adds.TotalMilliseconds:F0} ms + tables {(build.Elapsed - adds).TotalMilliseconds:F0} ms), " +
                          $"flat {flatBuild.Elapsed.TotalMilliseconds:F0} ms");
        Console.WriteLine($"memory: MIH {mihBytes / (double)n:F1} B/hash measured (arrays {mih.MemoryBytes / (double)n:F1} B/hash), flat {flatBytes / (double)n:F1} B/hash");

        var variants = bases.SelectMany(b => Enumerable.Range(0, 8).Select(t => Dihedral(b, t))).ToArray();
        Console.WriteLine();
        Console.WriteLine("| query | index | queries/s | µs/query | candidates/query | scanned | hits | items/s (8 variants) |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        var (flatUs, flatHits) = Time(variants, q => flat.RangeSearch(q, 31).Length);
        long candidates = 0, scans = 0;
        var (mihUs, mihHits) = Time(variants, q =>
        {
            var h = mih.RangeSearch(q, 31, null, out var s);
            candidates += s.Candidates;
            scans += s.Linear ? 1 : 0;
            return h.Length;
        }, () => candidates = scans = 0);
        Check(variants, q => mih.RangeSearch(q, 31), q => flat.RangeSearch(q, 31));
        // As detection asks: an item's 8 variants in one batch (one lock, one pass over the tail).
        var items = bases.Select(b => Enumerable.Range(0, 8).SelectMany(t => Dihedral(b, t)).ToArray()).ToArray();
        var (batchUs, batchHits) = Time(items, q => mih.RangeSearchBatch(q, 31).Sum(h => h.Length));
        foreach (var item in items)
            if (!mih.RangeSearchBatch(item, 31).SelectMany(h => h).SequenceEqual(item.Chunk(32).SelectMany(v => flat.RangeSearch(v, 31))))
                throw new InvalidOperationException("MIH batch and linear scan disagree");
        Row("range 31", "linear scan", flatUs, n, 0, flatHits);
        Row("range 31", "MIH", mihUs, candidates / (double)variants.Length, scans / (double)variants.Length, mihHits);
        Row("range 31", "MIH, batches of 8", batchUs / 8, candidates / (double)variants.Length, 0, batchHits);

        // k = 1 from the original variant: near ones (planted within 40 bits) and random ones (nearest ≈ 90 bits).
        var near = bases.Select((b, i) => Dihedral(b, transforms[i][0])).ToArray();
        var far = Enumerable.Range(0, Queries).Select(_ => RandomCode(rng)).ToArray();
        foreach (var (name, qs) in new[] { ("k=1 near", near), ("k=1 random", far) })
        {
            var (fUs, _) = Time(qs, q => flat.Search(q, 1).Length);
            long c = 0, sc = 0;
            var (mUs, _) = Time(qs, q => { var h = mih.Search(q, 1, null, out var s); c += s.Candidates; sc += s.Linear ? 1 : 0; return h.Length; }, () => c = sc = 0);
            Check(qs, q => mih.Search(q, 1), q => flat.Search(q, 1));
            Row(name, "linear scan", fUs, n, 0, -1);
            Row(name, "MIH", mUs, c / (double)qs.Length, sc / (double)qs.Length, -1);
        }

        // Radius sweep: what the cost check chose, and what probing would have cost had it not scanned.
        Console.WriteLine();
        Console.WriteLine("| radius | look-ups/query | candidates/query | MIH probing µs/query | linear scan µs/query | MIH as shipped µs/query | scanned |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        var calibration = "";
        var few = variants.Take(Math.Max(80, 8_000_000 / n * 8)).ToArray();
        foreach (var r in new[] { 15, 31, 47, 63, 79 })
        {
            long probes = 0, cand = 0, scanned = 0;
            mih.NeverScan = true;
            var (probeUs, _) = Time(few, q => { var h = mih.RangeSearch(q, r, null, out var s); probes += s.Probes; cand += s.Candidates; return h.Length; }, () => probes = cand = 0);
            mih.NeverScan = false;
            var (shippedUs, _) = Time(few, q => { var h = mih.RangeSearch(q, r, null, out var s); scanned += s.Linear ? 1 : 0; return h.Length; }, () => scanned = 0);
            var (scanUs, _) = Time(few, q => flat.RangeSearch(q, r).Length);
            Check(few.Take(16).ToArray(), q => mih.RangeSearch(q, r), q => flat.RangeSearch(q, r));
            Console.WriteLine($"| {r} | {probes / (double)few.Length:F0} | {cand / (double)few.Length:F0} | {probeUs:F1} | {scanUs:F1} | {shippedUs:F1} | {scanned * 100.0 / few.Length:F0}% |");
            if (r == 47) calibration = $"at r = 47: {probeUs * 1000 / (cand / (double)few.Length):F1} ns per candidate verified (look-ups included), linear scan {scanUs * 1000 / n:F2} ns per row";
        }
        Console.WriteLine();
        Console.WriteLine(calibration);

        // What one detection waits when its query merges a tail of 4,096 new rows into the tables (as at 10⁶ in service).
        var merges = new List<double>();
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 4096; i++) mih.Add(n + 1 + round * 4096 + i, RandomCode(rng));
            var merge = Stopwatch.StartNew();
            mih.Rebuild();
            merges.Add(merge.Elapsed.TotalMilliseconds);
        }
        Console.WriteLine($"merge of a 4,096-row tail into all {mih.Positions} tables: {string.Join(", ", merges.Select(m => $"{m:F1}"))} ms " +
                          $"(a query merges one table: {string.Join(", ", merges.Select(m => $"{m / mih.Positions:F1}"))} ms)");
        GC.KeepAlive(codes);
    }

    static long Retained()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(false);
    }

    static void Row(string query, string index, double us, double candidates, double scanned, long hits) =>
        Console.WriteLine($"| {query} | {index} | {1e6 / us:N0} | {us:F1} | {candidates:N0} | {scanned * 100:F0}% | {(hits < 0 ? "" : hits)} | {(query == "range 31" ? (1e6 / us / 8).ToString("N0") : "")} |");

    /// <summary>Mean µs per query after a warm-up pass over every query (so that the JIT's tiering has finished: a
    /// warm-up of 20 queries left the first figure measured ~1.6× too slow), and the summed result.</summary>
    static (double Us, long Sum) Time(byte[][] queries, Func<byte[], long> query, Action? afterWarmUp = null)
    {
        foreach (var q in queries) query(q);
        afterWarmUp?.Invoke();
        long sum = 0;
        var sw = Stopwatch.StartNew();
        foreach (var q in queries) sum += query(q);
        return (sw.Elapsed.TotalMicroseconds / queries.Length, sum);
    }

    static void Check(byte[][] queries, Func<byte[], BinaryNeighbor[]> mih, Func<byte[], BinaryNeighbor[]> flat)
    {
        foreach (var q in queries)
            if (!mih(q).SequenceEqual(flat(q))) throw new InvalidOperationException("MIH and linear scan disagree");
    }

    static void Chromaprint(int n)
    {
        // Synthetic fingerprints of 30 s (240 items): each item a few bits off the previous (audio changes slowly),
        // every 20th a new random item. Queries: 100 stored ones with 3% of bits flipped, and 100 unrelated ones.
        var rng = new Random(5);
        const int length = 240;
        uint[] Make()
        {
            var fp = new uint[length];
            var v = (uint)rng.Next();
            for (var i = 0; i < length; i++)
            {
                v = i % 20 == 0 ? (uint)rng.Next() ^ ((uint)rng.Next(2) << 31) : v ^ (1u << rng.Next(32)) ^ (1u << rng.Next(32));
                fp[i] = v;
            }
            return fp;
        }
        uint[] Noisy(uint[] fp) => fp.Select(v => Enumerable.Range(0, 32).Aggregate(v, (x, b) => rng.NextDouble() < 0.03 ? x ^ (1u << b) : x)).ToArray();

        var index = new AudioFingerprintIndex();
        var stored = new uint[n][];
        GC.Collect();
        var before = GC.GetTotalMemory(true);
        var build = Stopwatch.StartNew();
        for (var i = 0; i < n; i++) index.Add(i + 1, stored[i] = Make());
        build.Stop();
        var bytes = GC.GetTotalMemory(true) - before;
        var copies = Enumerable.Range(0, 100).Select(i => Noisy(stored[i * (n / 100)])).ToArray();
        var unrelated = Enumerable.Range(0, 100).Select(_ => Make()).ToArray();
        Console.WriteLine();
        Console.WriteLine($"### Chromaprint inverted index, N = {n:N0} fingerprints of {length} items");
        Console.WriteLine($"build {build.Elapsed.TotalSeconds:F1} s, {bytes / (double)n / 1024:F1} KiB per fingerprint (fingerprint included)");
        foreach (var (name, qs) in new[] { ("3% bit errors", copies), ("unrelated", unrelated) })
        {
            var found = 0;
            foreach (var q in qs.Take(5)) index.RangeSearch(q, 0.8);
            var sw = Stopwatch.StartNew();
            foreach (var q in qs) found += index.RangeSearch(q, 0.8).Count > 0 ? 1 : 0;
            Console.WriteLine($"{name}: {sw.Elapsed.TotalMilliseconds / qs.Length:F2} ms/query, {found}/{qs.Length} found");
        }
    }

    static byte[] RandomCode(Random rng)
    {
        var b = new byte[32];
        rng.NextBytes(b);
        return b;
    }

    static byte[] Flip(byte[] code, int bits, Random rng)
    {
        var c = (byte[])code.Clone();
        foreach (var bit in Enumerable.Range(0, 256).OrderBy(_ => rng.Next()).Take(bits)) c[bit / 8] ^= (byte)(1 << (bit % 8));
        return c;
    }

    /// <summary>Transform t of the 16×16 bit block: transposed for t ≥ 4, complemented on odd rows, columns or diagonals (as the tests').</summary>
    static byte[] Dihedral(byte[] code, int t)
    {
        var result = new byte[32];
        for (var i = 0; i < 16; i++)
            for (var j = 0; j < 16; j++)
            {
                var k = i * 16 + j;
                var bit = (code[k >> 3] >> (k & 7)) & 1;
                bit ^= (t & 3) switch { 0 => 0, 1 => i & 1, 2 => j & 1, _ => (i + j) & 1 };
                var to = t >= 4 ? j * 16 + i : k;
                result[to >> 3] |= (byte)(bit << (to & 7));
            }
        return result;
    }
}
