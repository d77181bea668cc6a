using Media.Contracts.V1;
using Media.Detection;
using Media.Index;

namespace Media.Tests.Pipeline;

public class DetectionTests : IDisposable
{
    readonly TempDir _tmp = new();
    readonly MediaStore _store;
    readonly DuplicateDetector _detector;

    public DetectionTests()
    {
        _store = MediaStore.Open(_tmp.Path);
        _detector = new DuplicateDetector(_store, new DetectionPolicy());
    }

    static MediaEncoded Item(string sha, string path, float[]? vector = null, bool semantic = true, string? pdq = null, int quality = 100, Guid? submission = null) =>
        new(submission ?? Guid.NewGuid(), Guid.Empty, path, sha, false, "image", "jpeg", 100, 10, 10, pdq, quality,
            pdq is null ? null : [pdq, pdq, pdq, pdq, pdq, pdq, pdq, pdq],
            vector is null ? [] : [new PackEmbedding("p", "1", "space", semantic, vector)]);

    static string Sha(char c) => new(c, 64);

    [Fact]
    public void Exact_duplicate_by_sha256_is_not_reindexed()
    {
        Assert.Equal(MediaStatus.Indexed, _detector.Process(Item(Sha('a'), "/x/first.jpg")).Status);
        var dup = _detector.Process(Item(Sha('a'), "/x/second.jpg"));
        Assert.Equal(MediaStatus.Duplicate, dup.Status);
        var flag = Assert.Single(dup.Flags);
        Assert.Equal(("exact_duplicate", "sha256", Sha('a'), "/x/first.jpg", 0.0), (flag.Kind, flag.Method, flag.Of, flag.OfPath, flag.Distance!.Value));
        Assert.Equal(1, _store.Catalog.Stats().Items);
    }

    [Fact]
    public void Embedding_near_duplicates_only_for_semantic_packs()
    {
        _detector.Process(Item(Sha('a'), "/a.jpg", [1, 0]));
        var near = _detector.Process(Item(Sha('b'), "/b.jpg", [0.99f, 0.141f]));   // cosine distance 0.01
        var flag = Assert.Single(near.Flags);
        Assert.Equal(("near_duplicate", "embedding:p", "/a.jpg"), (flag.Kind, flag.Method, flag.OfPath));
        Assert.Equal(0.01, flag.Distance!.Value, 3);
        Assert.Equal(0.05, flag.Threshold);
        Assert.Empty(_detector.Process(Item(Sha('c'), "/c.jpg", [0.8f, 0.6f])).Flags);  // distance 0.2

        using var other = new TempDir();
        using var store = MediaStore.Open(other.Path);
        var nonSemantic = new DuplicateDetector(store, new DetectionPolicy());
        nonSemantic.Process(Item(Sha('a'), "/a.jpg", [1, 0], semantic: false));
        Assert.Empty(nonSemantic.Process(Item(Sha('b'), "/b.jpg", [1, 0], semantic: false)).Flags);
    }

    [Fact]
    public void Pdq_needs_quality_on_both_sides()
    {
        var hash = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
        _detector.Process(Item(Sha('a'), "/a.jpg", pdq: hash, quality: 30));
        Assert.Empty(_detector.Process(Item(Sha('b'), "/b.jpg", pdq: hash)).Flags);           // the indexed one is low quality
        Assert.Empty(_detector.Process(Item(Sha('c'), "/c.jpg", pdq: hash, quality: 40)).Flags); // the new one is low quality
        var flag = Assert.Single(_detector.Process(Item(Sha('d'), "/d.jpg", pdq: hash)).Flags);
        Assert.Equal(("pdq", "/b.jpg", 0.0, 31.0), (flag.Method, flag.OfPath, flag.Distance!.Value, flag.Threshold!.Value));
    }

    [Fact]
    public void A_redelivered_submission_gets_the_same_result_and_no_second_row()
    {
        var submission = Guid.NewGuid();
        _detector.Process(Item(Sha('a'), "/a.jpg", [1, 0]));
        var first = _detector.Process(Item(Sha('b'), "/b.jpg", [1, 0], submission: submission));
        var again = _detector.Process(Item(Sha('b'), "/b.jpg", [1, 0], submission: submission));
        Assert.Equal(first.Status, again.Status);
        Assert.Equal(first.Flags, again.Flags);
        Assert.Equal(2, _store.Catalog.Stats().Items);
    }

    [Fact]
    public void The_store_rebuilds_its_indexes_from_the_catalog()
    {
        _detector.Process(Item(Sha('a'), "/a.jpg", [1, 0], pdq: new string('0', 64)));
        _store.Dispose();
        using var reopened = MediaStore.Open(_tmp.Path);
        Assert.Equal(1, reopened.Pdq.Count);
        Assert.Equal("a" , reopened.Vectors("p@1")!.Search([1, 0], 1)[0].Id[..1]);
        Assert.Equal("/a.jpg", reopened.Find(Sha('a'))!.Path);
    }

    public void Dispose()
    {
        _store.Dispose();
        _tmp.Dispose();
    }
}

public class SequenceGateTests
{
    [Fact]
    public async Task Items_are_admitted_in_sequence_order_whatever_the_arrival_order()
    {
        var gate = new SequenceGate(TimeSpan.FromSeconds(30));
        var corr = Guid.NewGuid();
        var order = new List<long>();
        var tasks = new[] { 3L, 1, 0, 2 }.Select(seq => Task.Run(async () =>
        {
            await gate.WaitTurnAsync(corr, seq);
            lock (order) order.Add(seq);
            gate.Done(corr, seq);
        })).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([0L, 1, 2, 3], order);
    }

    [Fact]
    public async Task A_missing_item_is_skipped_after_the_gap_timeout_and_admitted_late()
    {
        var gate = new SequenceGate(TimeSpan.FromMilliseconds(200));
        var corr = Guid.NewGuid();
        await gate.WaitTurnAsync(corr, 0);
        gate.Done(corr, 0);
        await gate.WaitTurnAsync(corr, 2).WaitAsync(TimeSpan.FromSeconds(5)); // 1 never came
        gate.Done(corr, 2);
        await gate.WaitTurnAsync(corr, 1).WaitAsync(TimeSpan.FromMilliseconds(100)); // late: no wait
        await gate.WaitTurnAsync(Guid.NewGuid(), null).WaitAsync(TimeSpan.FromMilliseconds(100)); // unsequenced
    }
}
