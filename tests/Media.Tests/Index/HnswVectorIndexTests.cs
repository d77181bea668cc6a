using System.Numerics.Tensors;
using Media.Index;

namespace Media.Tests.Index;

/// <summary>The contract with default options: the 3000-row recall test is above the exact-search threshold, the rest below.</summary>
public sealed class HnswVectorIndexContractTests : VectorIndexContract
{
    protected override IVectorIndex Create(int dimension) => new HnswVectorIndex(dimension);
    protected override IVectorIndex Load(Stream stream) => HnswVectorIndex.Load(stream);
    protected override double MinRecallAt10 => 0.95;
}

/// <summary>The whole contract on the graph: no exact-search threshold, so even three rows are searched by walking.</summary>
public sealed class HnswGraphContractTests : VectorIndexContract
{
    protected override IVectorIndex Create(int dimension) => new HnswVectorIndex(dimension, new HnswOptions { ExactSearchThreshold = 0 });
    protected override IVectorIndex Load(Stream stream) => HnswVectorIndex.Load(stream);
    protected override double MinRecallAt10 => 0.95;
}

/// <summary>The whole contract on the graph traversed with int8 codes and re-ranked with the float vectors.</summary>
public sealed class HnswInt8ContractTests : VectorIndexContract
{
    protected override IVectorIndex Create(int dimension) =>
        new HnswVectorIndex(dimension, new HnswOptions { ExactSearchThreshold = 0, Quantize = true });
    protected override IVectorIndex Load(Stream stream) => HnswVectorIndex.Load(stream);
    protected override double MinRecallAt10 => 0.95;
}

/// <summary>20,000 clustered 128-d unit vectors (a Gaussian mixture), their index, 200 queries and exact answers; built once.</summary>
public sealed class ClusteredData
{
    public const int N = 20_000, D = 128, Queries = 200;
    public float[][] Rows { get; }
    public float[][] QueryRows { get; }
    public HnswVectorIndex Index { get; }

    public ClusteredData()
    {
        var rng = new Random(11);
        var centres = Enumerable.Range(0, 200).Select(_ => Normalize(Enumerable.Range(0, D).Select(_ => Gauss(rng)).ToArray())).ToArray();
        // Noise with a falling spectrum (σ/√(rank+1)), as embeddings have, so near neighbours are meaningfully near.
        var weights = Enumerable.Range(0, D).Select(i => 0.3f / MathF.Sqrt(i + 1)).ToArray();
        float[] Point()
        {
            var c = centres[rng.Next(centres.Length)];
            return Normalize(c.Select((x, i) => x + weights[i] * Gauss(rng)).ToArray());
        }
        Rows = Enumerable.Range(0, N).Select(_ => Point()).ToArray();
        QueryRows = Enumerable.Range(0, Queries).Select(_ => Point()).ToArray();
        Index = new HnswVectorIndex(D);
        for (var i = 0; i < N; i++) Index.Add(i, Rows[i]);
    }

    static float Gauss(Random r) => (float)(Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble()));

    static float[] Normalize(float[] v)
    {
        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }

    /// <summary>The exact top-k among accepted rows.</summary>
    public long[] Exact(float[] query, int k, Func<long, bool>? filter = null) =>
        Enumerable.Range(0, N).Where(i => filter is null || filter(i))
            .Select(i => (Id: (long)i, D: 1 - TensorPrimitives.Dot(query, Rows[i]))).OrderBy(r => r.D).ThenBy(r => r.Id).Take(k).Select(r => r.Id).ToArray();
}

public sealed class HnswVectorIndexTests(ClusteredData data) : IClassFixture<ClusteredData>
{
    static float[] RandomUnit(Random rng, int d)
    {
        var v = new float[d];
        for (var i = 0; i < d; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }

    double Recall(IVectorIndex index, Func<long, bool>? filter = null, int k = 10)
    {
        var found = 0;
        var expected = 0;
        foreach (var q in data.QueryRows)
        {
            var truth = data.Exact(q, k, filter);
            var hits = index.Search(q, k, filter);
            Assert.All(hits, h => Assert.True(filter is null || filter(h.Id)));
            Assert.True(hits.Zip(hits.Skip(1)).All(p => p.First.Distance <= p.Second.Distance), "nearest first");
            found += hits.Select(h => h.Id).Intersect(truth).Count();
            expected += truth.Length;
        }
        return found / (double)expected;
    }

    [Fact]
    public void Recall_at_10_is_at_least_0_95_on_clustered_data_without_scanning()
    {
        var scans = data.Index.ExactScans;
        Assert.True(Recall(data.Index) is var recall && recall >= 0.95, $"recall@10 {recall}");
        Assert.Equal(scans, data.Index.ExactScans);
    }

    [Fact]
    public void Int8_traversal_keeps_recall_and_returns_float_distances()
    {
        using var saved = new MemoryStream();
        data.Index.Save(saved);
        saved.Position = 0;
        var int8 = HnswVectorIndex.Load(saved, o => o with { Quantize = true });
        Assert.True(int8.Options.Quantize);
        Assert.True(Recall(int8) is var recall && recall >= 0.95, $"int8 recall@10 {recall}");
        var q = data.QueryRows[0];
        foreach (var h in int8.Search(q, 10)) Assert.Equal(1 - TensorPrimitives.Dot(q, data.Rows[h.Id]), h.Distance, 5);
    }

    [Fact]
    public void The_default_ef_grows_with_the_fourth_root_of_the_size_past_the_reference_size()
    {
        using var saved = new MemoryStream();
        data.Index.Save(saved);
        saved.Position = 0;
        // 20,000 rows are 16 times the reference size: ef 8 grows to 8·16^¼ = 16.
        var grown = HnswVectorIndex.Load(saved, o => o with { EfSearch = 8, EfSearchReferenceSize = ClusteredData.N / 16 });
        Assert.True(grown.GrowEfSearch);
        Assert.Equal(16, grown.EffectiveEfSearch);
        foreach (var q in data.QueryRows.Take(50)) Assert.Equal(grown.Search(q, 10, efSearch: 16), grown.Search(q, 10));
        var recallGrown = Recall(grown);
        grown.GrowEfSearch = false;
        Assert.Equal(8, grown.EffectiveEfSearch);
        foreach (var q in data.QueryRows.Take(50)) Assert.Equal(grown.Search(q, 10, efSearch: 8), grown.Search(q, 10));
        Assert.True(recallGrown > Recall(grown), "a larger ef should find more of the true neighbours");

        saved.Position = 0;
        Assert.Equal(8, HnswVectorIndex.Load(saved, o => o with { EfSearch = 8, EfSearchReferenceSize = ClusteredData.N / 16, EfSearchGrowth = 0 }).EffectiveEfSearch);
        saved.Position = 0;
        Assert.Equal(8, HnswVectorIndex.Load(saved, o => o with { EfSearch = 8 }).EffectiveEfSearch); // below the default 200,000 rows
        Assert.Throws<ArgumentOutOfRangeException>(() => new HnswVectorIndex(4, new HnswOptions { EfSearchGrowth = 2 }));
    }

    [Theory]
    [InlineData(2)]      // half the rows: the walk
    [InlineData(10)]
    [InlineData(50)]     // 2%
    [InlineData(1000)]   // 0.1%: 20 rows, a scan
    public void Filters_keep_recall_at_any_selectivity(int oneIn)
    {
        // Accepted ids are spread over every cluster; the answers must still be the nearest accepted rows.
        bool Filter(long id) => id * 2654435761 % oneIn == 0;
        Assert.True(Recall(data.Index, Filter) is var recall && recall >= 0.95, $"recall@10 with 1 in {oneIn} accepted: {recall}");
    }

    [Fact]
    public void A_filter_that_accepts_almost_nothing_is_answered_by_a_scan()
    {
        var scans = data.Index.ExactScans;
        var hits = data.Index.Search(data.QueryRows[0], 10, id => id is 5 or 17);
        Assert.Equal([5L, 17], hits.Select(h => h.Id).Order());
        Assert.True(data.Index.ExactScans > scans);
    }

    [Fact]
    public void Range_search_on_the_graph_finds_what_a_scan_finds()
    {
        int found = 0, expected = 0;
        foreach (var q in data.QueryRows.Take(50))
        {
            var radius = 1 - TensorPrimitives.Dot(q, data.Rows[data.Exact(q, 40)[^1]]);
            var truth = Enumerable.Range(0, ClusteredData.N).Where(i => 1 - TensorPrimitives.Dot(q, data.Rows[i]) <= radius).Select(i => (long)i).ToArray();
            var hits = data.Index.RangeSearch(q, radius);
            Assert.All(hits, h => Assert.True(h.Distance <= radius));
            Assert.Equal(hits.Select(h => h.Id).Order(), hits.Select(h => h.Id));
            found += hits.Select(h => h.Id).Intersect(truth).Count();
            expected += truth.Length;
        }
        Assert.True(found >= 0.95 * expected, $"range recall {found / (double)expected}");
    }

    [Fact]
    public void Small_collections_are_scanned_and_large_ones_walked()
    {
        var rng = new Random(5);
        var index = new HnswVectorIndex(16, new HnswOptions { ExactSearchThreshold = 500 });
        for (var i = 0; i < 500; i++) index.Add(i, RandomUnit(rng, 16));
        index.Search(RandomUnit(rng, 16), 5);
        Assert.Equal(1, index.ExactScans);
        for (var i = 500; i < 1500; i++) index.Add(i, RandomUnit(rng, 16));
        index.Search(RandomUnit(rng, 16), 5);
        Assert.Equal(1, index.ExactScans);
    }

    [Fact]
    public async Task Removal_and_adds_under_concurrent_search_never_return_a_removed_row()
    {
        var rng = new Random(6);
        const int d = 32;
        var vectors = Enumerable.Range(0, 6000).Select(_ => RandomUnit(rng, d)).ToArray();
        var index = new HnswVectorIndex(d, new HnswOptions { ExactSearchThreshold = 0, EfConstruction = 64 });
        for (var i = 0; i < 3000; i++) index.Add(i, vectors[i]);
        // Even ids below 3000 go while ids 3000.. arrive; once gone they must never come back.
        var removedBelow = 0;
        var writer = Task.Run(() =>
        {
            for (var i = 0; i < 1500; i++)
            {
                index.Remove([2L * i]);
                Volatile.Write(ref removedBelow, 2 * i + 1);
                index.Add(3000 + 2 * i, vectors[3000 + 2 * i]);
                index.Add(3001 + 2 * i, vectors[3001 + 2 * i]);
            }
        });
        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(() =>
        {
            var local = new Random(r);
            while (!writer.IsCompleted)
            {
                var gone = Volatile.Read(ref removedBelow);
                var hits = index.Search(vectors[local.Next(6000)], 10);
                Assert.DoesNotContain(hits, h => h.Id < gone && h.Id % 2 == 0);
                Assert.True(hits.Zip(hits.Skip(1)).All(p => p.First.Distance <= p.Second.Distance));
            }
        })).ToArray();
        await Task.WhenAll([writer, .. readers]);
        Assert.Equal(4500, index.Count);
        var found = 0;
        for (var i = 1; i < 6000; i += 2 * 7)
        {
            var hits = index.Search(vectors[i], 10);
            Assert.DoesNotContain(hits, h => h.Id < 3000 && h.Id % 2 == 0);
            if (hits[0].Id == i) found++;
        }
        Assert.True(found >= 0.95 * (6000 / 14), $"{found} rows found themselves");
    }

    [Fact]
    public void Every_truncation_and_a_broken_link_are_refused_as_invalid_data()
    {
        var rng = new Random(7);
        var index = new HnswVectorIndex(4, new HnswOptions { ExactSearchThreshold = 0, M = 4 });
        for (var i = 0; i < 40; i++) index.Add(i, RandomUnit(rng, 4));
        using var buffer = new MemoryStream();
        index.Save(buffer);
        var bytes = buffer.ToArray();
        for (var length = 0; length < bytes.Length; length += 7)
            Assert.Throws<InvalidDataException>(() => HnswVectorIndex.Load(new MemoryStream(bytes[..length])));
        // Node 0's first level-0 link follows the header (49 bytes), its id, level, tombstone (10) and vector (16).
        var broken = (byte[])bytes.Clone();
        BitConverter.TryWriteBytes(broken.AsSpan(49 + 10 + 16 + 4), 1_000_000);
        Assert.Throws<InvalidDataException>(() => HnswVectorIndex.Load(new MemoryStream(broken)));
        Assert.Equal(index.Search([1, 0, 0, 0], 5), HnswVectorIndex.Load(new MemoryStream(bytes)).Search([1, 0, 0, 0], 5));
    }
}
