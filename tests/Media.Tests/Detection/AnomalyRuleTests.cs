using Media.Catalog;
using Media.Contracts.V1;
using Media.Detection;
using Media.Domain;
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
        /// <summary>Every search and range search, by its query's first value and whether it had a filter.</summary>
        public List<(float Query, bool Filtered)> Walks { get; } = [];
        public VectorNeighbor[] Search(ReadOnlySpan<float> query, int k, Func<long, bool>? filter = null)
        {
            Walks.Add((query[0], filter is not null));
            EfSearches.Add(null);
            return _inner.Search(query, k, filter);
        }
        public VectorNeighbor[] Search(ReadOnlySpan<float> query, int k, int efSearch, Func<long, bool>? filter)
        {
            Walks.Add((query[0], filter is not null));
            EfSearches.Add(efSearch);
            return _inner.Search(query, k, filter);
        }
        public VectorNeighbor[] RangeSearch(ReadOnlySpan<float> query, float maxDistance, Func<long, bool>? filter = null)
        {
            Walks.Add((query[0], filter is not null));
            return _inner.RangeSearch(query, maxDistance, filter);
        }
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

    static MediaEncoded Item(int i, float[] vector) => new(Guid.NewGuid(), Guid.Empty, $"/{i}.jpg", i.ToString("x64"), false, Modalities.Image, "jpeg",
        10, 4, 3, null, 0, null, [new PackEmbedding("p", "1", "s", true, vector)]);

    static float[] At(double angle) => [(float)Math.Cos(angle), (float)Math.Sin(angle)];

    [Fact]
    public async Task Detection_walks_an_items_neighbourhood_once_for_the_near_duplicate_probe_and_the_anomaly_score()
    {
        RecordingIndex? index = null;
        using var catalog = SqliteCatalog.Open(_tmp.Path);
        using var store = new IndexedCatalog(catalog, new IndexSettings { NewVectorIndex = d => index = new RecordingIndex(d) });
        var policy = new DetectionPolicy { Anomaly = new AnomalyOptions { WarmUp = 5 } };
        var anomaly = new AnomalyRule(store, policy.Anomaly);
        var detector = new DuplicateDetector(store, policy, [anomaly]);
        for (var i = 1; i <= 40; i++) detector.Process(Item(i, At(i * 0.05)));
        await anomaly.CalibrationsSettled();

        var outlier = At(3.0);
        index!.Walks.Clear();
        var result = detector.Process(Item(41, outlier));

        // One unfiltered walk for this vector (the probe), none for the score; calibration walks are filtered (leave-one-out).
        Assert.Single(index.Walks, w => w.Query == outlier[0] && !w.Filtered);
        var flag = Assert.Single(result.Flags, f => f.Kind == FlagKind.Anomaly);
        // The score is what the rule computes on its own, by a search of its own.
        var expected = anomaly.Score(index, outlier, null, exclude: 41);
        Assert.Equal(Math.Round(expected, 6), flag.Score);
    }

    [Fact]
    public void Nearest_remembers_one_answer_until_a_vector_is_indexed()
    {
        RecordingIndex? index = null;
        using var catalog = SqliteCatalog.Open(_tmp.Path);
        using var store = new IndexedCatalog(catalog, new IndexSettings { NewVectorIndex = d => index = new RecordingIndex(d) });
        var detector = new DuplicateDetector(store, new DetectionPolicy());
        for (var i = 1; i <= 10; i++) detector.Process(Item(i, At(i * 0.3)));
        var space = store.Spaces.Single();
        var query = At(0.31);
        index!.Walks.Clear();

        var eight = store.Nearest(space, query, 8, 20);
        var three = store.Nearest(space, query, 3, 20);
        Assert.Single(index.Walks);
        Assert.Equal(eight[..3], three);
        Assert.Equal(index.Search(query, 3, 20, null), three);
        index.Walks.Clear();

        store.Nearest(space, query, 3, 16);         // another efSearch
        store.Nearest(space, [.. query], 3, 16);    // another array
        store.Nearest(space, query, 12, 20);        // more rows than remembered
        Assert.Equal(3, index.Walks.Count);
        index.Walks.Clear();

        var nearer = At(0.311);
        detector.Process(Item(11, nearer));
        index.Walks.Clear();
        var after = store.Nearest(space, query, 3, 20);
        Assert.Single(index.Walks);
        Assert.Equal(11, after[0].Id);
    }
}
