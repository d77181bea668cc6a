using Media.Catalog;
using Media.Contracts.V1;
using Media.Detection;
using Media.Domain;
using Media.Hashing;

namespace Media.Tests.Detection;

public class DuplicateDetectorTests : IDisposable
{
    readonly SqliteDetection _on = new();

    static MediaEncoded Item(string sha, string path, float[]? vector = null, bool semantic = true, string? pdq = null, int quality = 100, Guid? submission = null, string[]? dihedral = null) =>
        new(submission ?? Guid.NewGuid(), Guid.Empty, path, sha, false, "image", "jpeg", 100, 10, 10, pdq, quality,
            pdq is null ? null : dihedral ?? [pdq, pdq, pdq, pdq, pdq, pdq, pdq, pdq],
            vector is null ? [] : [new PackEmbedding("p", "1", "space", semantic, vector)]);

    static string Sha(char c) => new(c, 64);

    [Fact]
    public void Exact_duplicate_by_sha256_is_not_reindexed()
    {
        Assert.Equal(SubmissionStatus.Indexed, _on.Detector.Process(Item(Sha('a'), "/x/first.jpg")).Status);
        var dup = _on.Detector.Process(Item(Sha('a'), "/x/second.jpg"));
        Assert.Equal(SubmissionStatus.Duplicate, dup.Status);
        var flag = Assert.Single(dup.Flags);
        Assert.Equal((FlagKind.ExactDuplicate, "sha256", Sha('a'), "/x/first.jpg", 0.0), (flag.Kind, flag.Method, flag.Of, flag.OfPath, flag.Distance!.Value));
        Assert.Equal(1, _on.Store.Catalog.Stats().Items);
    }

    [Fact]
    public void Embedding_near_duplicates_only_for_semantic_packs()
    {
        _on.Detector.Process(Item(Sha('a'), "/a.jpg", [1, 0]));
        var near = _on.Detector.Process(Item(Sha('b'), "/b.jpg", [0.99f, 0.141f]));   // cosine distance 0.01
        var flag = Assert.Single(near.Flags);
        Assert.Equal((FlagKind.NearDuplicate, "embedding:p", "/a.jpg"), (flag.Kind, flag.Method, flag.OfPath));
        Assert.Equal(0.01, flag.Distance!.Value, 3);
        Assert.Equal(0.05, flag.Threshold);
        Assert.Empty(_on.Detector.Process(Item(Sha('c'), "/c.jpg", [0.8f, 0.6f])).Flags);  // distance 0.2

        using var other = new TempDir();
        using var catalog = SqliteCatalog.Open(other.Path);
        var nonSemantic = new DuplicateDetector(new IndexedCatalog(catalog), new DetectionPolicy());
        nonSemantic.Process(Item(Sha('a'), "/a.jpg", [1, 0], semantic: false));
        Assert.Empty(nonSemantic.Process(Item(Sha('b'), "/b.jpg", [1, 0], semantic: false)).Flags);
    }

    [Fact]
    public void Pdq_needs_quality_on_both_sides()
    {
        var hash = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
        _on.Detector.Process(Item(Sha('a'), "/a.jpg", pdq: hash, quality: 30));
        Assert.Empty(_on.Detector.Process(Item(Sha('b'), "/b.jpg", pdq: hash)).Flags);           // the indexed one is low quality
        Assert.Empty(_on.Detector.Process(Item(Sha('c'), "/c.jpg", pdq: hash, quality: 40)).Flags); // the new one is low quality
        var flag = Assert.Single(_on.Detector.Process(Item(Sha('d'), "/d.jpg", pdq: hash)).Flags);
        Assert.Equal(("pdq", "/b.jpg", 0.0, 31.0), (flag.Method, flag.OfPath, flag.Distance!.Value, flag.Threshold!.Value));
    }

    /// <summary>PDQ queries run on another core past <see cref="DuplicateDetector.ParallelPdqRows"/> (here from the
    /// first row, whatever the machine's cores): the results, and the order of their flags, must be those of the serial path.</summary>
    [Fact]
    public void Pdq_queries_beside_the_other_queries_give_the_serial_results()
    {
        using var other = new TempDir();
        using var catalog = SqliteCatalog.Open(other.Path);
        using var store = new IndexedCatalog(catalog);
        var parallel = new DuplicateDetector(store, new DetectionPolicy()) { ParallelPdqRows = 0, PdqWorkerCores = 1 };
        var rng = new Random(5);
        var hashes = new List<byte[]>();
        for (var i = 0; i < 300; i++)
        {
            // Every third item is a near copy of an earlier one (PDQ within 20 bits, embedding within 0.01).
            byte[] hash;
            if (i % 3 == 2) { hash = (byte[])hashes[rng.Next(hashes.Count)].Clone(); for (var f = 0; f < 20; f++) hash[rng.Next(32)] ^= (byte)(1 << rng.Next(8)); }
            else { hash = new byte[32]; rng.NextBytes(hash); }
            hashes.Add(hash);
            var pdq = Convert.ToHexStringLower(hash);
            var angle = i % 3 == 2 ? 0.1f : (float)(rng.NextDouble() * Math.PI / 2);
            var item = Item(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(hash)), $"/{i}.jpg",
                [MathF.Cos(angle), MathF.Sin(angle)], pdq: pdq, dihedral: [pdq, .. Enumerable.Range(0, 7).Select(_ => Convert.ToHexStringLower(RandomBytes(rng)))]);
            var serialResult = _on.Detector.Process(item);
            var parallelResult = parallel.Process(item with { SubmissionId = Guid.NewGuid() });
            Assert.Equal(serialResult.Status, parallelResult.Status);
            Assert.Equal(serialResult.Flags, parallelResult.Flags);
        }
        Assert.Contains(_on.Catalog.AllFlags(), f => f.Flag.Method == "pdq");
        Assert.Contains(_on.Catalog.AllFlags(), f => f.Flag.Method == "embedding:p");
    }

    static byte[] RandomBytes(Random rng)
    {
        var b = new byte[32];
        rng.NextBytes(b);
        return b;
    }

    [Fact]
    public void A_redelivered_submission_gets_the_same_result_and_no_second_row()
    {
        var submission = Guid.NewGuid();
        _on.Detector.Process(Item(Sha('a'), "/a.jpg", [1, 0]));
        var first = _on.Detector.Process(Item(Sha('b'), "/b.jpg", [1, 0], submission: submission));
        var again = _on.Detector.Process(Item(Sha('b'), "/b.jpg", [1, 0], submission: submission));
        Assert.Equal(first.Status, again.Status);
        Assert.Equal(first.Flags, again.Flags);
        Assert.Equal(2, _on.Store.Catalog.Stats().Items);
    }

    [Fact]
    public void The_store_rebuilds_its_indexes_from_the_catalog()
    {
        _on.Detector.Process(Item(Sha('a'), "/a.jpg", [1, 0], pdq: new string('0', 64)));
        _on.Catalog.Dispose();
        using var catalog = SqliteCatalog.Open(_on.Dir.Path);
        var reopened = new IndexedCatalog(catalog);
        Assert.Equal(1, reopened.Pdq.Count);
        var hit = reopened.Space(new PackKey("p", "1"))!.Index.Search([1, 0], 1)[0];
        Assert.Equal(Sha('a'), reopened.Find(hit.Id)!.Id);
        Assert.Equal("/a.jpg", reopened.PathOf(reopened.Find(Sha('a'))!.Seq));
    }

    [Fact]
    public void Near_duplicates_name_the_earliest_item_within_the_threshold_not_the_nearest()
    {
        _on.Detector.Process(Item(Sha('a'), "/original.jpg", [1, 0]));
        _on.Detector.Process(Item(Sha('b'), "/exact-copy-later.jpg", [0.999f, 0.0447f]));   // distance 0.001, catalogued second
        var flag = Assert.Single(_on.Detector.Process(Item(Sha('c'), "/third.jpg", [0.999f, 0.0447f])).Flags);
        Assert.Equal("/original.jpg", flag.OfPath);   // distance 0.001 to a, 0 to b: the earliest wins
    }

    [Fact]
    public void Pdq_matches_over_the_dihedral_variants_and_reports_the_smallest_distance()
    {
        var a = PdqHash.Parse(new string('0', 64));
        var rotated = PdqHash.Parse(new string('f', 64));              // 256 bits from a as is
        _on.Detector.Process(Item(Sha('a'), "/a.jpg", pdq: a.ToString()));
        var variants = Enumerable.Repeat(rotated.ToString(), 8).ToArray();
        variants[(int)Dihedral.Rotate90] = "0f" + new string('0', 62);  // its rot90 variant is 4 bits from a
        var flag = Assert.Single(_on.Detector.Process(Item(Sha('b'), "/b.jpg", pdq: rotated.ToString(), dihedral: variants)).Flags);
        Assert.Equal(("pdq", "/a.jpg", 4.0), (flag.Method, flag.OfPath, flag.Distance!.Value));
        Assert.DoesNotContain(_on.Detector.Process(Item(Sha('c'), "/c.jpg", pdq: rotated.ToString(), dihedral: Enumerable.Repeat(rotated.ToString(), 8).ToArray())).Flags,
            f => f.Of == Sha('a'));
    }

    [Fact]
    public void Rejections_are_recorded_with_their_reason_and_replayed()
    {
        var s = Guid.NewGuid();
        var rejected = Item("", "/bad.wav", submission: s) with { Error = "corrupt WAV: short fmt chunk", Modality = "audio" };
        var r = _on.Detector.Process(rejected);
        Assert.Equal((SubmissionStatus.Rejected, "corrupt WAV: short fmt chunk"), (r.Status, r.Error));
        Assert.Equal(r.Error, _on.Detector.Process(rejected).Error);
        Assert.Equal(0, _on.Catalog.Stats().Items);
    }

    public void Dispose() => _on.Dispose();
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

/// <summary><see cref="DuplicateDetector.ProcessBatch"/>: decisions in order against the items before, one commit.</summary>
public sealed class DuplicateDetectorBatchTests : IDisposable
{
    readonly TempDir _tmp = new();

    static MediaEncoded Item(char sha, string path, float[] vector, string? pdq = null, Guid? submission = null, string? error = null) =>
        new(submission ?? Guid.NewGuid(), Guid.Empty, path, new string(sha, 64), false, "image", "jpeg", 100, 10, 10, pdq, 100,
            pdq is null ? null : [pdq, pdq, pdq, pdq, pdq, pdq, pdq, pdq], [new PackEmbedding("p", "1", "space", true, vector)], Error: error);

    [Fact]
    public void Each_item_of_a_batch_is_decided_against_the_ones_before_it()
    {
        using var catalog = SqliteCatalog.Open(_tmp.Path);
        using var store = new IndexedCatalog(catalog);
        var detector = new DuplicateDetector(store, new DetectionPolicy());
        var twice = Guid.NewGuid();
        var outcomes = detector.ProcessBatch([
            Item('a', "/a.jpg", [1, 0], submission: twice),
            Item('b', "/b.jpg", [0.99f, 0.141f]),          // cosine distance 0.01 to a
            Item('a', "/a-copy.jpg", [1, 0]),               // a's bytes again
            Item('a', "/a.jpg", [1, 0], submission: twice), // a's submission delivered twice
            Item('c', "/c.jpg", [0, 1], error: "unsupported format"),
        ]);
        Assert.All(outcomes, o => Assert.Null(o.Error));
        var (a, b, copy, again, rejected) = (outcomes[0].Result!, outcomes[1].Result!, outcomes[2].Result!, outcomes[3].Result!, outcomes[4].Result!);
        Assert.Equal(SubmissionStatus.Indexed, a.Status);
        var near = Assert.Single(b.Flags);
        Assert.Equal((FlagKind.NearDuplicate, new string('a', 64), "/a.jpg"), (near.Kind, near.Of, near.OfPath));
        Assert.Equal(SubmissionStatus.Duplicate, copy.Status);
        Assert.Equal(("/a.jpg", FlagKind.ExactDuplicate), (copy.Flags[0].OfPath, copy.Flags[0].Kind));
        Assert.Equal((a.Status, a.MediaId), (again.Status, again.MediaId));
        Assert.Equal(SubmissionStatus.Rejected, rejected.Status);

        using var reader = SqliteCatalog.Open(_tmp.Path); // committed: another connection sees all of it
        Assert.Equal(2, reader.Stats().Items);
        Assert.Equal(SubmissionStatus.Duplicate, reader.FindSubmission(copy.SubmissionId)!.Status);
        Assert.Equal("unsupported format", reader.FindSubmission(rejected.SubmissionId)!.Error);
    }

    [Fact]
    public void An_item_that_fails_fails_alone_and_the_rest_of_its_batch_is_committed()
    {
        using var catalog = SqliteCatalog.Open(_tmp.Path);
        using var store = new IndexedCatalog(catalog);
        var detector = new DuplicateDetector(store, new DetectionPolicy());
        var outcomes = detector.ProcessBatch([
            Item('a', "/a.jpg", [1, 0]),
            Item('b', "/b.jpg", [0, 1], pdq: "not a hash"),
            Item('c', "/c.jpg", [0.6f, 0.8f]),
        ]);
        Assert.Null(outcomes[0].Error);
        Assert.IsType<FormatException>(outcomes[1].Error);
        Assert.Null(outcomes[2].Error);
        Assert.Throws<FormatException>(() => detector.Process(Item('d', "/d.jpg", [0, 1], pdq: "not a hash")));
        using var reader = SqliteCatalog.Open(_tmp.Path);
        Assert.Equal(["/a.jpg", "/c.jpg"], reader.Items().Select(i => i.Path));
        Assert.Equal(2, store.Count);
    }

    /// <summary>The indexes took the batch's items before the commit; when it fails they must forget them, or the next
    /// items would be flagged against items the catalog never kept (under sequences it hands out again).</summary>
    [Fact]
    public void When_the_commit_fails_every_item_fails_and_the_indexes_forget_them()
    {
        using var sqlite = SqliteCatalog.Open(_tmp.Path);
        var catalog = new CommitFailingCatalog(sqlite);
        using var store = new IndexedCatalog(catalog);
        var detector = new DuplicateDetector(store, new DetectionPolicy());
        Assert.Equal(SubmissionStatus.Indexed, detector.Process(Item('a', "/a.jpg", [1, 0])).Status);

        catalog.FailCommits = true;
        var outcomes = detector.ProcessBatch([Item('b', "/b.jpg", [0, 1]), Item('c', "/c.jpg", [0.6f, 0.8f])]);
        Assert.All(outcomes, o => Assert.IsType<IOException>(o.Error));
        Assert.Equal(1, store.Count);
        Assert.Equal(1, store.Space(new PackKey("p", "1"))!.Index.Count);
        Assert.Null(store.Find(new string('b', 64)));

        catalog.FailCommits = false;
        var d = detector.Process(Item('d', "/d.jpg", [0.01f, 1])); // near b's vector, which was never kept
        Assert.Empty(d.Flags);
        Assert.Equal("/d.jpg", store.PathOf(store.Find(new string('d', 64))!.Seq));
        Assert.Equal(SubmissionStatus.Indexed, detector.Process(Item('b', "/b.jpg", [0, 1])).Status);
    }

    public void Dispose() => _tmp.Dispose();
}

/// <summary>A catalog whose write groups fail at commit on demand (as a full disk would), otherwise the inner one's.</summary>
sealed class CommitFailingCatalog(IMediaCatalog inner) : IMediaCatalog
{
    public bool FailCommits { get; set; }

    sealed class Group(ICatalogWriteGroup inner, CommitFailingCatalog owner) : ICatalogWriteGroup
    {
        public CatalogItem? Insert(CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission) => inner.Insert(item, embeddings, submission);
        public void RecordSubmission(SubmissionRecord submission) => inner.RecordSubmission(submission);
        public void Commit()
        {
            if (owner.FailCommits) throw new IOException("disk full");
            inner.Commit();
        }
        public void Dispose() => inner.Dispose();
    }

    public ICatalogWriteGroup BeginWriteGroup() => new Group(inner.BeginWriteGroup(), this);
    public string Location => inner.Location;
    public CatalogItem? Insert(CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission) => inner.Insert(item, embeddings, submission);
    public void RecordSubmission(SubmissionRecord submission) => inner.RecordSubmission(submission);
    public SubmissionRecord? FindSubmission(Guid submissionId) => inner.FindSubmission(submissionId);
    public CatalogItem? Find(string id) => inner.Find(id);
    public IEnumerable<CatalogItem> Items(long afterSeq = 0) => inner.Items(afterSeq);
    public IEnumerable<(long Seq, CatalogEmbedding Embedding)> Embeddings(long afterSeq = 0, PackKey? pack = null) => inner.Embeddings(afterSeq, pack);
    public IReadOnlyList<CatalogFlag> Flags(string mediaId) => inner.Flags(mediaId);
    public IEnumerable<(string MediaId, CatalogFlag Flag)> AllFlags(FlagKind? kind = null) => inner.AllFlags(kind);
    public IReadOnlyList<(string MediaId, CatalogFlag Flag)> FlagsOf(string mediaId) => inner.FlagsOf(mediaId);
    public long LastSeq => inner.LastSeq;
    public CatalogStats Stats() => inner.Stats();
    public bool AddEmbedding(long seq, CatalogEmbedding embedding) => inner.AddEmbedding(seq, embedding);
    public long EmbeddingGeneration => inner.EmbeddingGeneration;
    public void Dispose() { }
}
