using System.Numerics.Tensors;
using Media.Index;

namespace Media.Tests.Index;

/// <summary>The <see cref="IVectorIndex"/> contract, run against every implementation.</summary>
public abstract class VectorIndexContract
{
    protected abstract IVectorIndex Create(int dimension);
    protected abstract IVectorIndex Load(Stream stream);
    /// <summary>The recall@10 the implementation promises against exact search on clustered data (1 for exact search).</summary>
    protected virtual double MinRecallAt10 => 1.0;

    protected static float[] RandomUnit(Random rng, int d)
    {
        var v = new float[d];
        for (var i = 0; i < d; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }

    [Fact]
    public void Top_k_matches_a_full_sort_to_the_promised_recall()
    {
        var rng = new Random(1);
        var index = Create(32);
        var rows = Enumerable.Range(0, 3000).Select(i => (Id: (long)i * 3 + 7, V: RandomUnit(rng, 32))).ToArray();
        foreach (var (id, v) in rows) index.Add(id, v);
        Assert.Equal(3000, index.Count);
        var found = 0;
        for (var q = 0; q < 50; q++)
        {
            var query = RandomUnit(rng, 32);
            var expected = rows.Select(r => (r.Id, D: 1 - TensorPrimitives.Dot(query, r.V))).OrderBy(r => r.D).Take(10).ToArray();
            var hits = index.Search(query, 10);
            Assert.Equal(10, hits.Length);
            Assert.True(hits.Zip(hits.Skip(1)).All(p => p.First.Distance <= p.Second.Distance), "nearest first");
            found += hits.Select(h => h.Id).Intersect(expected.Select(e => e.Id)).Count();
            if (MinRecallAt10 >= 1) Assert.Equal(expected[0].D, hits[0].Distance, 5);
        }
        Assert.True(found / 500.0 >= MinRecallAt10, $"recall@10 {found / 500.0}");
    }

    [Fact]
    public void Search_filters_ties_go_to_the_lower_id_and_k_caps_the_answer()
    {
        var index = Create(2);
        index.Add(10, [1, 0]);
        index.Add(20, [0.8f, 0.6f]);
        index.Add(5, [1, 0]);
        Assert.Equal([5L, 10, 20], index.Search([1, 0], 3).Select(h => h.Id));
        Assert.Equal([10L], index.Search([1, 0], 1, id => id != 5).Select(h => h.Id));
        Assert.Equal(3, index.Search([1, 0], 100).Length);
        Assert.Empty(index.Search([1, 0], 0));
        Assert.Equal(0.2f, index.Search([1, 0], 3)[2].Distance, 5);
    }

    [Fact]
    public void Range_search_returns_everything_within_the_distance_in_id_order()
    {
        var index = Create(2);
        index.Add(3, [0.8f, 0.6f]);   // distance 0.2 from [1, 0]
        index.Add(1, [0, 1]);         // distance 1
        index.Add(2, [1, 0]);         // distance 0
        Assert.Equal([2L, 3], index.RangeSearch([1, 0], 0.25f).Select(h => h.Id));
        Assert.Equal([3L], index.RangeSearch([1, 0], 0.25f, id => id != 2).Select(h => h.Id));
        Assert.Empty(index.RangeSearch([-1, 0], 0.5f));
        Assert.Equal([1L, 2, 3], index.RangeSearch([1, 0], 2f).Select(h => h.Id));
    }

    [Fact]
    public void Removed_ids_are_never_returned_and_the_rest_stay_findable()
    {
        var rng = new Random(2);
        var index = Create(8);
        var vectors = Enumerable.Range(0, 200).Select(_ => RandomUnit(rng, 8)).ToArray();
        for (var i = 0; i < vectors.Length; i++) index.Add(i, vectors[i]);
        Assert.Equal(100, index.Remove(Enumerable.Range(0, 100).Select(i => (long)i * 2)));
        Assert.Equal(0, index.Remove([0, 2, 999]));
        Assert.Equal(100, index.Count);
        for (var i = 0; i < vectors.Length; i++)
        {
            var hits = index.Search(vectors[i], 5);
            Assert.DoesNotContain(hits, h => h.Id % 2 == 0);
            if (i % 2 == 1) Assert.Equal(i, hits[0].Id);
        }
        Assert.False(index.TryGetVector(4, new float[8]));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i * 2 + 1), index.Ids());
    }

    [Fact]
    public void Stored_vectors_read_back_and_bad_input_is_refused()
    {
        var index = Create(3);
        index.Add(7, [0.6f, 0.8f, 0]);
        var v = new float[3];
        Assert.True(index.TryGetVector(7, v));
        Assert.Equal([0.6f, 0.8f, 0], v);
        Assert.Throws<ArgumentException>(() => index.Add(8, [1, 0]));
        Assert.Throws<ArgumentException>(() => index.Add(7, [1, 0, 0]));
        Assert.Throws<ArgumentException>(() => index.Search([1, 0], 1));
        Assert.Throws<ArgumentException>(() => index.RangeSearch([1, 0, 0, 0], 0.1f));
    }

    [Fact]
    public void Save_and_load_round_trip_and_a_truncated_file_is_refused()
    {
        var rng = new Random(3);
        var index = Create(16);
        for (var i = 0; i < 500; i++) index.Add(i, RandomUnit(rng, 16));
        index.Remove([3, 4]);
        using var buffer = new MemoryStream();
        index.Save(buffer);
        buffer.Position = 0;
        var loaded = Load(buffer);
        Assert.Equal((index.Count, index.Dimension), (loaded.Count, loaded.Dimension));
        var q = RandomUnit(rng, 16);
        Assert.Equal(index.Search(q, 10), loaded.Search(q, 10));
        var truncated = new MemoryStream(buffer.ToArray()[..(int)(buffer.Length / 2)]);
        Assert.Throws<InvalidDataException>(() => Load(truncated));
        Assert.Throws<InvalidDataException>(() => Load(new MemoryStream("garbage garbage garbage"u8.ToArray())));
    }

    [Fact]
    public async Task Readers_run_concurrently_with_a_writer()
    {
        var rng = new Random(4);
        var index = Create(16);
        var vectors = Enumerable.Range(0, 2000).Select(_ => RandomUnit(rng, 16)).ToArray();
        for (var i = 0; i < 100; i++) index.Add(i, vectors[i]);
        var writer = Task.Run(() => { for (var i = 100; i < vectors.Length; i++) index.Add(i, vectors[i]); });
        var readers = Enumerable.Range(0, 4).Select(r => Task.Run(() =>
        {
            while (!writer.IsCompleted)
            {
                var hits = index.Search(vectors[r], 3);
                Assert.Equal(r, hits[0].Id);
            }
        })).ToArray();
        await Task.WhenAll([writer, .. readers]);
        Assert.Equal(vectors.Length, index.Count);
    }
}

public sealed class FlatVectorIndexTests : VectorIndexContract
{
    protected override IVectorIndex Create(int dimension) => new FlatVectorIndex(dimension);
    protected override IVectorIndex Load(Stream stream) => FlatVectorIndex.Load(stream);
}

public sealed class BufferedVectorIndexTests : VectorIndexContract
{
    protected override IVectorIndex Create(int dimension) => new BufferedVectorIndex(new FlatVectorIndex(dimension), capacity: 64);
    protected override IVectorIndex Load(Stream stream) => IndexFormats.LoadVector(stream);

    [Fact]
    public void An_added_vector_is_found_at_once_whatever_the_background_insertion_has_done()
    {
        var rng = new Random(7);
        using var index = new BufferedVectorIndex(new FlatVectorIndex(16), capacity: 8);
        for (var i = 0; i < 500; i++)
        {
            var v = RandomUnit(rng, 16);
            index.Add(i, v);
            Assert.Equal(i, index.Search(v, 1)[0].Id);
            Assert.Contains(index.RangeSearch(v, 1e-4f), h => h.Id == i);
            Assert.True(index.Pending <= 8);
        }
        index.Drain();
        Assert.Equal(0, index.Pending);
        Assert.Equal(500, index.Count);
    }
}
