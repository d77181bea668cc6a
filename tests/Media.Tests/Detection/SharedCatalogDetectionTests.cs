using Media.Catalog;
using Media.Catalog.Postgres;
using Media.Contracts.V1;
using Media.Detection;
using Media.Domain;
using Media.Tests.Catalog;

namespace Media.Tests.Detection;

/// <summary>
/// Detection on a catalog that several detect nodes share (PostgreSQL): each "node" here has its own catalog
/// connection, in-memory indexes and detector, as separate processes would; the multi-process version with RabbitMQ
/// is <c>Workers.PostgresScaleOutTests</c>.
/// </summary>
[Collection("postgres")]
public sealed class SharedCatalogDetectionTests(PostgresFixture pg) : IDisposable
{
    readonly string _uri = pg.NewDatabase();
    readonly List<IDisposable> _owned = [];

    (IndexedCatalog Store, DuplicateDetector Detector) Node()
    {
        var catalog = PostgresCatalog.Open(_uri);
        var store = new IndexedCatalog(catalog);
        _owned.Add(store);
        _owned.Add(catalog);
        return (store, new DuplicateDetector(store, new DetectionPolicy()));
    }

    static float[] Unit(Random rng, int dim, float[]? near = null)
    {
        var v = Enumerable.Range(0, dim).Select(i => (near?[i] ?? 0) + (float)(rng.NextDouble() - 0.5) * (near is null ? 1 : 0.02f)).ToArray();
        var n = MathF.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / n)];
    }

    static MediaEncoded Item(int i, string name, float[] vector) =>
        new(Guid.NewGuid(), Guid.NewGuid(), $"/pairs/{name}.jpg", i.ToString("x64"), false, "image", "jpeg", 100, 10, 10, null, 0, null,
            [new PackEmbedding("p", "1", "space", true, vector)]);

    [Fact]
    public async Task Two_nodes_given_two_near_duplicate_copies_at_once_flag_one_against_the_other_and_never_both_index_as_originals()
    {
        var a = Node();
        var b = Node();
        var rng = new Random(12);
        var results = new List<(MediaEncoded First, MediaEncoded Second, SubmissionRecord R1, SubmissionRecord R2)>();
        for (var pair = 0; pair < 20; pair++)
        {
            var v = Unit(rng, 32);
            var first = Item(2 * pair + 1, $"{pair}-a", v);
            var second = Item(2 * pair + 2, $"{pair}-b", Unit(rng, 32, v));
            using var start = new Barrier(2);
            var t1 = Task.Run(() => { start.SignalAndWait(); return a.Detector.Process(first); });
            var t2 = Task.Run(() => { start.SignalAndWait(); return b.Detector.Process(second); });
            results.Add((first, second, await t1, await t2));
        }
        foreach (var (first, second, r1, r2) in results)
        {
            Assert.Equal((SubmissionStatus.Indexed, SubmissionStatus.Indexed), (r1.Status, r2.Status));
            var flagged = new[] { (r1, Other: second.Sha256), (r2, Other: first.Sha256) }
                .Where(x => x.Item1.Flags.Any(f => f.Kind == FlagKind.NearDuplicate && f.Of == x.Other)).ToArray();
            Assert.Single(flagged); // exactly one copy is the duplicate of the other
            Assert.All(new[] { r1, r2 }, r => Assert.True(r.Flags.Count(f => f.Kind == FlagKind.NearDuplicate) <= 1));
        }
        Assert.Equal(40, a.Store.Catalog.Stats().Items);
        Assert.Equal(20, a.Store.Catalog.Stats().Flags[FlagKinds.NearDuplicate]);

        // A redelivered submission gets its stored result, on whichever node it lands.
        var (f0, _, r0, _) = results[0];
        Assert.Equal(r0.Flags, b.Detector.Process(f0).Flags);
        Assert.Equal(40, b.Store.Catalog.Stats().Items);

        // A node that only reads (a query node) sees every committed item once it refreshes.
        var query = Node();
        Assert.Equal(40, query.Store.Count);
        var late = Item(1000, "late", Unit(rng, 32));
        Assert.Equal(SubmissionStatus.Indexed, a.Detector.Process(late).Status);
        Assert.Null(query.Store.Find(late.Sha256));
        Assert.Equal(1, query.Store.Refresh());
        Assert.NotNull(query.Store.Find(late.Sha256));
        Assert.Equal(0, query.Store.Refresh());
    }

    [Fact]
    public async Task The_same_bytes_at_two_nodes_at_once_are_catalogued_once_and_the_other_is_an_exact_duplicate()
    {
        var a = Node();
        var b = Node();
        var rng = new Random(5);
        for (var i = 0; i < 10; i++)
        {
            var v = Unit(rng, 32);
            using var start = new Barrier(2);
            var t1 = Task.Run(() => { start.SignalAndWait(); return a.Detector.Process(Item(i + 1, $"{i}-a", v)); });
            var t2 = Task.Run(() => { start.SignalAndWait(); return b.Detector.Process(Item(i + 1, $"{i}-b", v)); });
            var statuses = new[] { (await t1).Status, (await t2).Status }.Order().ToArray();
            Assert.Equal(new[] { SubmissionStatus.Indexed, SubmissionStatus.Duplicate }.Order(), statuses);
        }
        Assert.Equal(10, a.Store.Catalog.Stats().Items);
    }

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
    }
}
