using Media.Catalog;
using Media.Detection;
using Media.Index;

namespace Media.Tests.Detection;

public sealed class AnomalyRuleTests : IDisposable
{
    readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    /// <summary>An index that records the efSearch of every search it is asked for (and answers exactly).</summary>
    sealed class RecordingIndex(int dimension) : IVectorIndex
    {
        readonly FlatVectorIndex _inner = new(dimension);
        public List<int?> EfSearches { get; } = [];
        public int Dimension => _inner.Dimension;
        public long Count => _inner.Count;
        public void Add(long id, ReadOnlySpan<float> vector) => _inner.Add(id, vector);
        public VectorNeighbor[] Search(ReadOnlySpan<float> query, int k, Func<long, bool>? filter = null)
        {
            EfSearches.Add(null);
            return _inner.Search(query, k, filter);
        }
        public VectorNeighbor[] Search(ReadOnlySpan<float> query, int k, int efSearch, Func<long, bool>? filter)
        {
            EfSearches.Add(efSearch);
            return _inner.Search(query, k, filter);
        }
        public VectorNeighbor[] RangeSearch(ReadOnlySpan<float> query, float maxDistance, Func<long, bool>? filter = null) => _inner.RangeSearch(query, maxDistance, filter);
        public int Remove(IEnumerable<long> ids) => _inner.Remove(ids);
        public bool TryGetVector(long id, Span<float> destination) => _inner.TryGetVector(id, destination);
        public long[] Ids() => _inner.Ids();
        public void Save(Stream stream) => _inner.Save(stream);
    }

    [Fact]
    public void The_score_searches_with_the_configured_ef_and_is_the_mean_distance_to_k_neighbours()
    {
        using var catalog = SqliteCatalog.Open(_tmp.Path);
        using var store = new IndexedCatalog(catalog);
        var index = new RecordingIndex(2);
        for (var i = 1; i <= 20; i++) index.Add(i, [MathF.Cos(i * 0.01f), MathF.Sin(i * 0.01f)]);
        var rule = new AnomalyRule(store, new AnomalyOptions { K = 3, EfSearch = 7 });
        var score = rule.Score(index, [1, 0], null, exclude: null);
        Assert.Equal([7], index.EfSearches);
        // The three nearest rows to angle 0 are at 0.01, 0.02 and 0.03 rad.
        var expected = new[] { 1, 2, 3 }.Average(i => 1 - Math.Cos(i * 0.01));
        Assert.Equal(expected, score, 5);
        // An ef below k is raised to k.
        new AnomalyRule(store, new AnomalyOptions { K = 5, EfSearch = 2 }).Score(index, [1, 0], null, exclude: 4);
        Assert.Equal(5, index.EfSearches[^1]);
    }
}
