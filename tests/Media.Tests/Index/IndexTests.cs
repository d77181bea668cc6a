using System.Numerics.Tensors;
using Media.Embeddings.Encoders;
using Media.Embeddings.Hashing;
using Media.Index;

namespace Media.Tests.Index;

public class IndexTests
{
    static float[] RandomUnit(Random rng, int d)
    {
        var v = new float[d];
        for (var i = 0; i < d; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        OnnxEncoder.L2Normalize(v);
        return v;
    }

    [Fact]
    public void Vector_top_k_equals_a_full_sort_recall_at_k_is_1()
    {
        var rng = new Random(1);
        var index = new VectorIndex(32);
        var rows = Enumerable.Range(0, 3000).Select(i => (Id: $"m{i}", V: RandomUnit(rng, 32))).ToArray();
        foreach (var (id, v) in rows) index.Add(id, v);
        for (var q = 0; q < 20; q++)
        {
            var query = RandomUnit(rng, 32);
            var expected = rows.Select(r => (r.Id, S: TensorPrimitives.Dot(query, r.V))).OrderByDescending(r => r.S).Take(10).ToArray();
            var hits = index.Search(query, 10);
            Assert.Equal(expected.Select(e => e.Id), hits.Select(h => h.Id));
            Assert.Equal(expected[0].S, hits[0].Similarity, 5);
        }
    }

    [Fact]
    public void Vector_search_filters_and_first_within_returns_the_earliest_match()
    {
        var index = new VectorIndex(2);
        index.Add("a", [1, 0]);
        index.Add("b", [0.8f, 0.6f]);
        index.Add("c", [1, 0]);
        Assert.Equal(["a", "c", "b"], index.Search([1, 0], 3).Select(h => h.Id));
        Assert.Equal(["c"], index.Search([1, 0], 1, id => id != "a").Select(h => h.Id));
        Assert.Equal("a", index.FirstWithin([0.8f, 0.6f], 0.7f)!.Value.Id);   // a (0.8) comes before b (1.0)
        Assert.Null(index.FirstWithin([0, 1], 0.7f));
        Assert.Throws<ArgumentException>(() => index.Add("d", [1, 0, 0]));
    }

    [Fact]
    public void Pdq_first_within_uses_dihedral_variants_quality_and_insertion_order()
    {
        var index = new PdqIndex();
        var a = PdqHash.Parse(new string('0', 64));
        var b = PdqHash.Parse("f" + new string('0', 63));             // 4 bits from a
        var lowQuality = PdqHash.Parse("1" + new string('0', 63));   // 1 bit from a
        index.Add("low", lowQuality, 10);
        index.Add("a", a, 100);
        index.Add("b", b, 100);
        var m = index.FirstWithin([PdqHash.Parse("ff" + new string('0', 62))], 31, 50)!.Value; // 8 bits from a, 4 from b
        Assert.Equal(("a", 8), (m.Id, m.Distance));
        // The second variant (rotate90) is the one that matches.
        var far = PdqHash.Parse(new string('f', 64));
        var v = index.FirstWithin([far, b], 31, 50)!.Value;
        Assert.Equal(("a", 4, Dihedral.Rotate90), (v.Id, v.Distance, v.Variant));
        Assert.Null(index.FirstWithin([far], 31, 50));
    }
}
