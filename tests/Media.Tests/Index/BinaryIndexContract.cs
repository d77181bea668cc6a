using System.Numerics;
using Media.Index;

namespace Media.Tests.Index;

/// <summary>The <see cref="IBinaryIndex"/> contract, run against every implementation, on 256-bit codes (PDQ's size).</summary>
public abstract class BinaryIndexContract
{
    protected abstract IBinaryIndex Create(int bits);
    protected abstract IBinaryIndex Load(Stream stream);

    protected static byte[] RandomCode(Random rng)
    {
        var b = new byte[32];
        rng.NextBytes(b);
        return b;
    }

    /// <summary>A copy of <paramref name="code"/> with <paramref name="bits"/> distinct bits flipped.</summary>
    protected static byte[] Flip(byte[] code, int bits, Random rng)
    {
        var c = (byte[])code.Clone();
        foreach (var bit in Enumerable.Range(0, 256).OrderBy(_ => rng.Next()).Take(bits)) c[bit / 8] ^= (byte)(1 << (bit % 8));
        return c;
    }

    static int Hamming(byte[] a, byte[] b) => a.Zip(b).Sum(p => BitOperations.PopCount((uint)(p.First ^ p.Second)));

    [Fact]
    public void Range_search_is_exact_against_a_linear_scan()
    {
        var rng = new Random(1);
        var index = Create(256);
        var codes = new List<(long Id, byte[] Code)>();
        var bases = Enumerable.Range(0, 50).Select(_ => RandomCode(rng)).ToArray();
        for (var i = 0; i < 3000; i++)
        {
            var code = i < 1000 ? Flip(bases[i % bases.Length], rng.Next(0, 60), rng) : RandomCode(rng);
            codes.Add((i, code));
            index.Add(i, code);
        }
        for (var q = 0; q < 40; q++)
        {
            var query = Flip(bases[q % bases.Length], rng.Next(0, 20), rng);
            var expected = codes.Where(c => Hamming(c.Code, query) <= 31).Select(c => (c.Id, Hamming(c.Code, query))).ToArray();
            var hits = index.RangeSearch(query, 31);
            Assert.Equal(expected, hits.Select(h => (h.Id, h.Distance)));
        }
    }

    /// <summary>A batch (an item's 8 dihedral variants, as detection asks) answers each query as its own range search
    /// would, also for rows added after the tables were built, at radii that probe and radii that scan, filtered.</summary>
    [Fact]
    public void Range_search_batch_answers_each_query_as_alone()
    {
        var rng = new Random(4);
        var index = Create(256);
        var bases = Enumerable.Range(0, 8).Select(_ => RandomCode(rng)).ToArray();
        for (var i = 0; i < 3000; i++) index.Add(i, i % 3 == 0 ? Flip(bases[i % bases.Length], rng.Next(0, 50), rng) : RandomCode(rng));
        index.RangeSearch(bases[0], 31); // a first query: an index with tables builds them now
        for (var i = 3000; i < 3200; i++) index.Add(i, Flip(bases[i % bases.Length], rng.Next(0, 50), rng));
        var batch = bases.Select(b => Flip(b, rng.Next(0, 20), rng)).ToArray();
        foreach (var radius in new[] { 0, 31, 47, 90 })
            foreach (var filter in new Func<long, bool>?[] { null, id => id % 2 == 0 })
            {
                var answers = index.RangeSearchBatch([.. batch.SelectMany(q => q)], radius, filter);
                Assert.Equal(batch.Length, answers.Length);
                for (var q = 0; q < batch.Length; q++) Assert.Equal(index.RangeSearch(batch[q], radius, filter), answers[q]);
            }
        Assert.Contains(index.RangeSearchBatch([.. batch.SelectMany(q => q)], 31), hits => hits.Any(h => h.Id >= 3000));
        Assert.Throws<ArgumentException>(() => index.RangeSearchBatch(new byte[40], 31));
    }

    [Fact]
    public void Search_returns_the_k_nearest_nearest_first_ties_to_the_lower_id()
    {
        var rng = new Random(2);
        var index = Create(256);
        var a = RandomCode(rng);
        index.Add(9, Flip(a, 3, rng));
        index.Add(4, Flip(a, 3, rng));
        index.Add(1, Flip(a, 10, rng));
        index.Add(2, RandomCode(rng));
        var hits = index.Search(a, 3);
        Assert.Equal([4L, 9, 1], hits.Select(h => h.Id));
        Assert.Equal([3, 3, 10], hits.Select(h => h.Distance));
        Assert.Equal([9L, 1], index.Search(a, 2, id => id != 4).Select(h => h.Id));
    }

    [Fact]
    public void Removed_codes_are_gone_and_save_load_round_trips()
    {
        var rng = new Random(3);
        var index = Create(256);
        var codes = Enumerable.Range(0, 300).Select(_ => RandomCode(rng)).ToArray();
        for (var i = 0; i < codes.Length; i++) index.Add(i, codes[i]);
        Assert.Equal(2, index.Remove([5, 6, 1000]));
        Assert.Empty(index.RangeSearch(codes[5], 0));
        Assert.Equal([7L], index.RangeSearch(codes[7], 0).Select(h => h.Id));
        using var buffer = new MemoryStream();
        index.Save(buffer);
        buffer.Position = 0;
        var loaded = Load(buffer);
        Assert.Equal(298, loaded.Count);
        Assert.Equal(index.Search(codes[9], 5), loaded.Search(codes[9], 5));
        Assert.Throws<InvalidDataException>(() => Load(new MemoryStream(buffer.ToArray()[..100])));
    }

    [Fact]
    public void Codes_of_the_wrong_length_and_repeated_ids_are_refused()
    {
        var index = Create(256);
        index.Add(1, new byte[32]);
        Assert.Throws<ArgumentException>(() => index.Add(2, new byte[31]));
        Assert.Throws<ArgumentException>(() => index.Add(1, new byte[32]));
        Assert.Throws<ArgumentException>(() => index.RangeSearch(new byte[8], 3));
    }
}

public sealed class FlatBinaryIndexTests : BinaryIndexContract
{
    protected override IBinaryIndex Create(int bits) => new FlatBinaryIndex(bits);
    protected override IBinaryIndex Load(Stream stream) => FlatBinaryIndex.Load(stream);
}
