using System.Diagnostics;
using Media.Index;

namespace Media.Tests.Index;

/// <summary>The contract with the tables rebuilt before every query that follows a change: every query goes through multi-index hashing.</summary>
public sealed class MultiIndexHashingTests : BinaryIndexContract
{
    protected override IBinaryIndex Create(int bits) => new MultiIndexHashing(bits, tailLimit: 0);
    protected override IBinaryIndex Load(Stream stream) => MultiIndexHashing.Load(stream, tailLimit: 0);

    /// <summary>
    /// Detection's use: 10⁵ random PDQ-sized hashes, among them planted copies of 240 query hashes under dihedral-style
    /// transforms (transposition and complemented checkerboards of the 16×16 bit block, bijections as PDQ's sign and
    /// transpose symmetries are) with 0–40 further bits flipped; each query's 8 variants are range-searched at 31 bits
    /// and must give exactly a linear scan's hits, and so the same lowest id.
    /// </summary>
    [Fact]
    public void Range_search_at_31_bits_over_the_8_variants_equals_a_linear_scan_on_100k_hashes()
    {
        var rng = new Random(7);
        const int n = 100_000, queries = 240;
        var bases = Enumerable.Range(0, queries).Select(_ => RandomCode(rng)).ToArray();
        var planted = new List<byte[]>();
        foreach (var b in bases)
            for (var c = 0; c < 6; c++)
            {
                var distance = c switch { 0 => 31, 1 => 32, _ => rng.Next(0, 41) };
                planted.Add(Flip(Dihedral(b, rng.Next(8)), distance, rng));
            }
        var plantAt = new HashSet<int>(Enumerable.Range(0, n).OrderBy(_ => rng.Next()).Take(planted.Count));
        var mih = new MultiIndexHashing(256);
        var flat = new FlatBinaryIndex(256);
        var next = 0;
        for (var id = 0L; id < n; id++)
        {
            var code = plantAt.Contains((int)id) ? planted[next++] : RandomCode(rng);
            mih.Add(id * 3 + 1, code);
            flat.Add(id * 3 + 1, code);
        }

        var hits = 0;
        var probed = 0;
        long candidates = 0;
        var mihTime = Stopwatch.StartNew();
        var results = new List<BinaryNeighbor[]>();
        foreach (var b in bases)
            for (var t = 0; t < 8; t++)
            {
                results.Add(mih.RangeSearch(Dihedral(b, t), 31, null, out var stats));
                Assert.False(stats.Linear);
                probed++;
                candidates += stats.Candidates;
            }
        mihTime.Stop();
        var i = 0;
        foreach (var b in bases)
        {
            var lowest = long.MaxValue;
            for (var t = 0; t < 8; t++)
            {
                var expected = flat.RangeSearch(Dihedral(b, t), 31);
                Assert.Equal(expected, results[i++]);
                hits += expected.Length;
                if (expected.Length > 0) lowest = Math.Min(lowest, expected[0].Id);
            }
            Assert.NotEqual(long.MaxValue, lowest); // every query has its plant at exactly 31 bits
        }
        Assert.True(hits >= queries * 2, $"only {hits} hits");
        // 16 positions × 17 look-ups × 10⁵/65,536 rows ≈ 415 candidates a query, against 10⁵ for a scan.
        Assert.InRange(candidates / probed, 1, 2_000);
    }

    /// <summary>
    /// The service's pattern: hashes arrive one by one between queries, so the tables are built once and then the tail is
    /// merged into them again and again (never rebuilt); after every merge the tables must answer exactly as a scan.
    /// </summary>
    [Fact]
    public void Merging_the_tail_as_hashes_arrive_keeps_range_search_exact()
    {
        var rng = new Random(17);
        var mih = new MultiIndexHashing(256);
        var flat = new FlatBinaryIndex(256);
        var bases = Enumerable.Range(0, 50).Select(_ => RandomCode(rng)).ToArray();
        for (var id = 1L; id <= 60_000; id++)
        {
            // A third near a few bases (so buckets hold runs of equal substrings), the rest random.
            var code = rng.Next(3) == 0 ? Flip(bases[rng.Next(bases.Length)], rng.Next(0, 40), rng) : RandomCode(rng);
            mih.Add(id, code);
            flat.Add(id, code);
            if (id % 397 != 0) continue;
            var query = Flip(bases[rng.Next(bases.Length)], rng.Next(0, 30), rng);
            Assert.Equal(flat.RangeSearch(query, 31), mih.RangeSearch(query, 31));
            Assert.Equal(flat.Search(query, 5), mih.Search(query, 5));
        }
        Assert.Equal(1, mih.FullRebuilds);
        Assert.True(mih.Merges >= 40, $"{mih.Merges} merges");
        foreach (var b in bases)
            for (var t = 0; t < 8; t++)
                Assert.Equal(flat.RangeSearch(Dihedral(b, t), 31), mih.RangeSearch(Dihedral(b, t), 31));
    }

    [Fact]
    public void Range_search_is_exact_at_every_radius_and_falls_back_to_a_scan_where_probing_costs_more()
    {
        var rng = new Random(11);
        var (mih, flat, bases) = Clustered(rng, 20_000, 40);
        foreach (var r in new[] { 0, 1, 7, 15, 16, 17, 30, 31, 32, 33, 47, 48, 63, 64, 90, 128, 256 })
            for (var q = 0; q < 10; q++)
            {
                var query = Flip(bases[q], rng.Next(0, 24), rng);
                Assert.Equal(flat.RangeSearch(query, r), mih.RangeSearch(query, r, null, out var stats));
                // Queries near a centre of 250 codes: at r = 31 their look-ups can return more rows than a scan reads.
                if (r <= 15) Assert.False(stats.Linear, $"radius {r} scanned linearly");
                if (r >= 90) Assert.True(stats.Linear, $"radius {r} probed");
            }
        Assert.Empty(mih.RangeSearch(bases[0], -1));
    }

    [Fact]
    public void Search_is_exact_near_and_far_with_filters()
    {
        var rng = new Random(12);
        var (mih, flat, bases) = Clustered(rng, 20_000, 40);
        Func<long, bool>[] filters = [_ => true, id => id % 3 != 0, id => id > 15_000, _ => false];
        foreach (var k in new[] { 1, 3, 10, 50 })
            foreach (var filter in filters)
            {
                var near = Flip(bases[rng.Next(bases.Length)], rng.Next(0, 10), rng);
                Assert.Equal(flat.Search(near, k, filter), mih.Search(near, k, filter));
                var far = RandomCode(rng); // nearest codes ~90 bits away: past where probing pays, a linear scan
                Assert.Equal(flat.Search(far, k, filter), mih.Search(far, k, filter, out var stats));
                Assert.True(stats.Linear);
            }
        var query = Flip(bases[0], 2, rng);
        mih.Search(query, 5, null, out var nearStats);
        Assert.False(nearStats.Linear);
        Assert.Empty(mih.Search(query, 0));
        Assert.Equal(flat.Search(query, 30_000), mih.Search(query, 30_000));
    }

    [Fact]
    public void Adds_removes_and_re_adds_between_queries_stay_exact()
    {
        var rng = new Random(13);
        var mih = new MultiIndexHashing(256, tailLimit: 64);
        var flat = new FlatBinaryIndex(256);
        var codes = new Dictionary<long, byte[]>();
        var bases = Enumerable.Range(0, 20).Select(_ => RandomCode(rng)).ToArray();
        var nextId = 1L;
        for (var step = 0; step < 60; step++)
        {
            for (var i = rng.Next(0, 200); i > 0; i--)
            {
                // Mostly increasing ids (catalog sequences); from step 30 on, also ids below the last (re-adds, imports).
                var id = step >= 30 && rng.Next(4) == 0 ? rng.Next(1, (int)nextId) : nextId++;
                if (codes.ContainsKey(id))
                {
                    Assert.Throws<ArgumentException>(() => mih.Add(id, RandomCode(rng)));
                    continue;
                }
                var code = rng.Next(3) == 0 ? RandomCode(rng) : Flip(bases[rng.Next(bases.Length)], rng.Next(0, 40), rng);
                codes[id] = code;
                mih.Add(id, code);
                flat.Add(id, code);
            }
            var gone = codes.Keys.Where(_ => rng.Next(10) == 0).Append(-5).ToArray();
            Assert.Equal(flat.Remove(gone), mih.Remove(gone));
            foreach (var id in gone) codes.Remove(id);
            Assert.Equal(flat.Count, mih.Count);
            for (var q = 0; q < 4; q++)
            {
                var query = Flip(bases[rng.Next(bases.Length)], rng.Next(0, 20), rng);
                Assert.Equal(flat.RangeSearch(query, 31), mih.RangeSearch(query, 31));
                Assert.Equal(flat.Search(query, 7, id => id % 2 == 0), mih.Search(query, 7, id => id % 2 == 0));
            }
        }
    }

    [Fact]
    public void Save_and_load_round_trip_and_refuse_garbage_truncation_and_other_formats()
    {
        var rng = new Random(14);
        var (mih, _, bases) = Clustered(rng, 5_000, 10);
        mih.Remove([3, 4, 4_000]);
        mih.Add(3, bases[1]); // out of order: ids no longer increasing along rows
        using var buffer = new MemoryStream();
        mih.Save(buffer);
        var bytes = buffer.ToArray();
        var loaded = MultiIndexHashing.Load(new MemoryStream(bytes));
        Assert.Equal(mih.Count, loaded.Count);
        foreach (var b in bases)
        {
            Assert.Equal(mih.RangeSearch(b, 31), loaded.RangeSearch(b, 31));
            Assert.Equal(mih.Search(b, 4), loaded.Search(b, 4));
        }

        foreach (var cut in new[] { 0, 3, 4, 8, 12, 19, 20, 100, bytes.Length / 2, bytes.Length - 1 })
            Assert.Throws<InvalidDataException>(() => MultiIndexHashing.Load(new MemoryStream(bytes[..cut])));
        var garbage = new byte[4096];
        rng.NextBytes(garbage);
        Assert.Throws<InvalidDataException>(() => MultiIndexHashing.Load(new MemoryStream(garbage)));
        Assert.Throws<InvalidDataException>(() => MultiIndexHashing.Load(new MemoryStream([.. "MMIH"u8, .. garbage])));
        Assert.Throws<InvalidDataException>(() => MultiIndexHashing.Load(new MemoryStream([.. bytes[..4], 2, 0, 0, 0, .. bytes[8..]])));
        Assert.Throws<InvalidDataException>(() => MultiIndexHashing.Load(new MemoryStream([.. bytes[..8], 100, 0, 0, 0, .. bytes[12..]])));
        var twice = (byte[])bytes.Clone();
        BitConverter.GetBytes(BitConverter.ToInt64(twice, 20)).CopyTo(twice, 28); // second id := first id
        Assert.Throws<InvalidDataException>(() => MultiIndexHashing.Load(new MemoryStream(twice)));
        var flat = new FlatBinaryIndex(256);
        flat.Add(1, bases[0]);
        using var flatBytes = new MemoryStream();
        flat.Save(flatBytes);
        flatBytes.Position = 0;
        Assert.Throws<InvalidDataException>(() => MultiIndexHashing.Load(flatBytes));
    }

    [Fact]
    public void Other_code_lengths_work_and_bad_lengths_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new MultiIndexHashing(100));
        Assert.Throws<ArgumentException>(() => new MultiIndexHashing(0));
        var rng = new Random(15);
        foreach (var bits in new[] { 64, 128, 512 })
        {
            var mih = new MultiIndexHashing(bits, tailLimit: 0);
            var flat = new FlatBinaryIndex(bits);
            Assert.Equal(bits / 16, mih.Positions);
            var basis = new byte[bits / 8];
            rng.NextBytes(basis);
            for (var id = 0; id < 3000; id++)
            {
                var code = (byte[])basis.Clone();
                for (var f = rng.Next(0, bits / 3); f > 0; f--) code[rng.Next(code.Length)] ^= (byte)(1 << rng.Next(8));
                mih.Add(id, code);
                flat.Add(id, code);
            }
            foreach (var r in new[] { 0, 3, bits / 16 - 1, bits / 8 - 1, bits / 4 })
                Assert.Equal(flat.RangeSearch(basis, r), mih.RangeSearch(basis, r));
            Assert.Equal(flat.Search(basis, 20), mih.Search(basis, 20));
        }
    }

    [Fact]
    public async Task Readers_run_beside_a_writer()
    {
        var rng = new Random(16);
        var (mih, flat, bases) = Clustered(rng, 5_000, 10);
        var expected = bases.Select(b => flat.RangeSearch(b, 20)).ToArray();
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            var wrng = new Random(17);
            for (var id = 1_000_000L; id < 1_100_000 && !stop.IsCancellationRequested; id++)
            {
                mih.Add(id, RandomCode(wrng)); // random codes: never within 20 bits of a cluster centre
                if (id % 50 == 0) mih.Remove([id - 25]);
            }
        });
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            for (var round = 0; round < 60; round++)
                for (var i = 0; i < bases.Length; i++)
                    Assert.Equal(expected[i], mih.RangeSearch(bases[i], 20));
        })).ToArray();
        await Task.WhenAll(readers);
        stop.Cancel();
        await writer;
    }

    /// <summary>
    /// The t-th of 8 transforms of a 16×16 bit block, shaped after PDQ's dihedral hashes: transposed for t ≥ 4, and bits
    /// complemented on a checkerboard of odd rows, odd columns or odd diagonals (as sign flips of DCT coefficients).
    /// </summary>
    static byte[] Dihedral(byte[] code, int t)
    {
        var result = new byte[32];
        for (var i = 0; i < 16; i++)
            for (var j = 0; j < 16; j++)
            {
                var k = i * 16 + j;
                var bit = (code[k >> 3] >> (k & 7)) & 1;
                var complement = (t & 3) switch { 0 => false, 1 => (i & 1) != 0, 2 => (j & 1) != 0, _ => ((i + j) & 1) != 0 };
                bit ^= complement ? 1 : 0;
                var to = t >= 4 ? j * 16 + i : k;
                result[to >> 3] |= (byte)(bit << (to & 7));
            }
        return result;
    }

    /// <summary>n codes with increasing ids 0…n−1: half near one of <paramref name="clusters"/> centres (0–60 bits off), half random.</summary>
    static (MultiIndexHashing Mih, FlatBinaryIndex Flat, byte[][] Bases) Clustered(Random rng, int n, int clusters)
    {
        var bases = Enumerable.Range(0, clusters).Select(_ => RandomCode(rng)).ToArray();
        var mih = new MultiIndexHashing(256);
        var flat = new FlatBinaryIndex(256);
        for (var id = 0; id < n; id++)
        {
            var code = id % 2 == 0 ? Flip(bases[rng.Next(clusters)], rng.Next(0, 60), rng) : RandomCode(rng);
            mih.Add(id, code);
            flat.Add(id, code);
        }
        return (mih, flat, bases);
    }
}

/// <summary>The contract at the default tail limit: small indexes are scanned, larger ones probe their tables and scan the tail.</summary>
public sealed class MultiIndexHashingDefaultTailTests : BinaryIndexContract
{
    protected override IBinaryIndex Create(int bits) => new MultiIndexHashing(bits);
    protected override IBinaryIndex Load(Stream stream) => MultiIndexHashing.Load(stream);
}
