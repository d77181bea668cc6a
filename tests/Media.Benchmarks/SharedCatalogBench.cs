using System.Diagnostics;
using Media.Catalog;
using Media.Catalog.Postgres;
using Media.Contracts.V1;
using Media.Detection;
using Media.Domain;
using Media.Index;
using Npgsql;

namespace Media.Benchmarks;

/// <summary>
/// The measurements behind README "Scale-out on PostgreSQL": detection through the shared catalog with one and two
/// nodes (the detection lock and catch-up per item), a query node's refresh, a node's start from the catalog, and the
/// PDQ choice — the in-process multi-index each node keeps current from the catalog against pgvector's HNSW on
/// <c>bit(256)</c> (<c>bit_hamming_ops</c>), on the same hashes.
/// <code>Media.Benchmarks shared-catalog postgresql://user:pass@host:port/EMPTYDB [N=20000]</code>
/// </summary>
static class SharedCatalogBench
{
    public static void Run(string[] args)
    {
        if (args.Length < 1) throw new ArgumentException("usage: shared-catalog postgresql://user:pass@host:port/EMPTYDB [N]");
        var uri = args[0];
        var n = args.Length > 1 ? int.Parse(args[1]) : 20_000;
        var rng = new Random(7);
        string Hex(byte[] b) => Convert.ToHexStringLower(b);
        byte[] RandomHash() { var b = new byte[32]; rng.NextBytes(b); return b; }
        float[] Unit()
        {
            var v = new float[512];
            for (var i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() - 0.5);
            var norm = MathF.Sqrt(v.Sum(x => x * x));
            for (var i = 0; i < v.Length; i++) v[i] /= norm;
            return v;
        }
        var hashes = new List<byte[]>();
        MediaEncoded Item()
        {
            var pdq = RandomHash();
            hashes.Add(pdq);
            var id = Hex(System.Security.Cryptography.SHA256.HashData(pdq));
            return new MediaEncoded(Guid.NewGuid(), Guid.NewGuid(), $"/bench/{id}.jpg", id, false, "image", "jpeg", 1000, 64, 64, Hex(pdq), 100,
                [.. Enumerable.Range(0, 8).Select(_ => Hex(RandomHash()))], [new PackEmbedding("clip", "1", "s", true, Unit())]);
        }

        var nodes = new List<(PostgresCatalog Catalog, IndexedCatalog Store, DuplicateDetector Detector)>();
        (PostgresCatalog, IndexedCatalog, DuplicateDetector) Node()
        {
            var c = PostgresCatalog.Open(uri);
            var s = new IndexedCatalog(c);
            var node = (c, s, new DuplicateDetector(s, new DetectionPolicy()));
            nodes.Add(node);
            return node;
        }

        Console.WriteLine($"shared catalog {PostgresLocation.Describe(uri)}, {n} items of a 512-d embedding, PDQ + 8 dihedral hashes");
        var one = Node();
        var items = Enumerable.Range(0, n).Select(_ => Item()).ToArray();
        var half = n / 2;
        // Each node is fed by 4 threads, as a detect worker holds many messages at once (they queue for its detector).
        const int feeders = 4;
        var next = 0;
        var sw = Stopwatch.StartNew();
        Parallel.For(0, feeders, new ParallelOptions { MaxDegreeOfParallelism = feeders }, _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next) - 1) < half) one.Item3.Process(items[i]);
        });
        var oneRate = half / sw.Elapsed.TotalSeconds;
        Console.WriteLine($"detect, 1 node:  {oneRate,8:0} items/s ({1000 / oneRate:0.00} ms per item: lock, catch-up, decide, insert, commit, unlock)");

        var two = Node();
        next = half;
        sw.Restart();
        Parallel.For(0, 2 * feeders, new ParallelOptions { MaxDegreeOfParallelism = 2 * feeders }, k =>
        {
            var node = k % 2 == 0 ? one : two;
            int i;
            while ((i = Interlocked.Increment(ref next) - 1) < n) node.Item3.Process(items[i]);
        });
        var twoRate = (n - half) / sw.Elapsed.TotalSeconds;
        Console.WriteLine($"detect, 2 nodes: {twoRate,8:0} items/s together (decisions are serialised by the lock, held for up to {DuplicateDetector.ItemsPerDetectionLock} waiting items)");

        // A query node's refresh when nothing is new, and when one item is.
        var query = Node();
        var noop = Time(1000, () => query.Item2.Refresh());
        Console.WriteLine($"query refresh, nothing new: median {noop.Median * 1000:0.000} ms, p99 {noop.P99 * 1000:0.000} ms");
        var fresh = Time(200, () => { one.Item3.Process(Item()); }, () => query.Item2.Refresh());
        Console.WriteLine($"query refresh, one new item: median {fresh.Median * 1000:0.000} ms, p99 {fresh.P99 * 1000:0.000} ms");
        sw.Restart();
        using (var cold = new IndexedCatalog(query.Item1)) Console.WriteLine($"node start: {cold.Count} items indexed from the catalog in {sw.Elapsed.TotalSeconds:0.0} s");

        // PDQ: 200 queries near stored hashes (0-31 bits flipped), detection-shaped.
        var all = hashes.Take((int)query.Item1.LastSeq).ToArray();
        var queries = Enumerable.Range(0, 200).Select(i =>
        {
            var target = all[rng.Next(all.Length)];
            var q = (byte[])target.Clone();
            foreach (var bit in Enumerable.Range(0, 256).OrderBy(_ => rng.Next()).Take(rng.Next(32))) q[bit >> 3] ^= (byte)(0x80 >> (bit & 7));
            return (Query: q, Target: target);
        }).ToArray();
        var mih = query.Item2.Pdq;
        var found = 0;
        sw.Restart();
        foreach (var (q, t) in queries)
            foreach (var hit in mih.RangeSearch(q, 31, _ => true))
                if (query.Item2.Find(hit.Id) is not null && hit.Distance <= 31) { found++; break; }
        var mihUs = sw.Elapsed.TotalMicroseconds / queries.Length;
        Console.WriteLine($"PDQ in-process multi-index (exact), {all.Length} hashes: {mihUs:0} µs per range query (radius 31), {found}/{queries.Length} planted copies found");

        using var db = new NpgsqlConnection(PostgresLocation.ConnectionString(uri));
        db.Open();
        sw.Restart();
        Exec(db, "CREATE INDEX media_pdq_hnsw ON media USING hnsw (pdq bit_hamming_ops)");
        Console.WriteLine($"PDQ pgvector HNSW (m 16, ef_construction 64) build: {sw.Elapsed.TotalSeconds:0.0} s");
        foreach (var ef in new[] { 40, 200 })
        {
            Exec(db, $"SET hnsw.ef_search = {ef}");
            var hits = 0;
            sw.Restart();
            foreach (var (q, t) in queries)
            {
                using var cmd = new NpgsqlCommand("SELECT pdq FROM media ORDER BY pdq <~> @q LIMIT 10", db);
                cmd.Parameters.Add(new NpgsqlParameter("q", NpgsqlTypes.NpgsqlDbType.Bit) { Value = new System.Collections.BitArray(q.Select(ReverseBits).ToArray()) });
                using var r = cmd.ExecuteReader();
                var tHex = Hex(t);
                while (r.Read()) if (Hex(PostgresCatalog.FromBits(r.GetFieldValue<System.Collections.BitArray>(0))) == tHex) hits++;
            }
            Console.WriteLine($"PDQ pgvector HNSW ef_search {ef}: {sw.Elapsed.TotalMilliseconds / queries.Length:0.00} ms per query, recall {100.0 * hits / queries.Length:0.0}% of planted copies");
        }
        Exec(db, "SET enable_indexscan = off");
        sw.Restart();
        var exact = 0;
        foreach (var (q, _) in queries.Take(50))
        {
            using var cmd = new NpgsqlCommand("SELECT count(*) FROM media WHERE bit_count(pdq # @q) <= 31", db);
            cmd.Parameters.Add(new NpgsqlParameter("q", NpgsqlTypes.NpgsqlDbType.Bit) { Value = new System.Collections.BitArray(q.Select(ReverseBits).ToArray()) });
            exact += (int)(long)cmd.ExecuteScalar()!;
        }
        Console.WriteLine($"PDQ PostgreSQL exact scan: {sw.Elapsed.TotalMilliseconds / 50:0.00} ms per query ({exact}/50 found)");
        foreach (var node in nodes) { node.Store.Dispose(); node.Catalog.Dispose(); }
    }

    /// <summary>BitArray(byte[]) takes bit 0 as the least significant bit of byte 0; the catalog stores the most significant first.</summary>
    static byte ReverseBits(byte b)
    {
        byte r = 0;
        for (var i = 0; i < 8; i++) r |= (byte)(((b >> i) & 1) << (7 - i));
        return r;
    }

    static void Exec(NpgsqlConnection db, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, db) { CommandTimeout = 0 };
        cmd.ExecuteNonQuery();
    }

    static (double Median, double P99) Time(int n, Action measured) => Time(n, () => { }, measured);

    static (double Median, double P99) Time(int n, Action before, Action measured)
    {
        var t = new double[n];
        for (var i = 0; i < n; i++)
        {
            before();
            var sw = Stopwatch.StartNew();
            measured();
            t[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(t);
        return (t[n / 2], t[(int)(n * 0.99)]);
    }
}
