using Media.Catalog;
using Media.Domain;

namespace Media.Tests.Catalog;

/// <summary>
/// The <see cref="IMediaCatalog"/> contract, run against every implementation: derive, say how to open a catalog at a
/// location, and xunit runs every test here for it.
/// </summary>
public abstract class CatalogContract : IDisposable
{
    protected readonly TempDir Dir = new();
    readonly List<IMediaCatalog> _open = [];

    /// <summary>Opens (creating when new) the catalog at the implementation's location for this test.</summary>
    protected abstract IMediaCatalog OpenCatalog();

    protected IMediaCatalog Open()
    {
        var c = OpenCatalog();
        _open.Add(c);
        return c;
    }

    public virtual void Dispose()
    {
        foreach (var c in _open) c.Dispose();
        Dir.Dispose();
    }

    static readonly PackKey Clip = new("clip", "1");
    static readonly PackKey Clap = new("clap", "2");

    protected static string IdOf(int i) => i.ToString("x64");

    protected static CatalogItem Image(int i, string? collection = null) => new(0, IdOf(i), $"/photos/{i}.jpg", "image", "jpeg", 1000 + i, 640, 480,
        Pdq: Enumerable.Range(0, 32).Select(b => (byte)(b * 7 + i)).ToArray(), PdqQuality: 90,
        PdqDihedral: Enumerable.Range(0, 256).Select(b => (byte)(b + i)).ToArray(), Collection: collection);

    protected static CatalogItem Audio(int i) => new(0, IdOf(i), $"/audio/{i}.mp3", "audio", "mp3", 5000, 0, 0,
        DurationSeconds: 3.25, Chromaprint: [1u, 0xFFFFFFFFu, (uint)i]);

    protected static float[] Unit(int dim, int seed)
    {
        var rng = new Random(seed);
        var v = Enumerable.Range(0, dim).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var n = MathF.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / n).ToArray();
    }

    protected static SubmissionRecord Indexed(CatalogItem item, params CatalogFlag[] flags) =>
        new(Guid.NewGuid(), Guid.NewGuid(), item.Id, item.Path, item.Modality, SubmissionStatus.Indexed, flags);

    [Fact]
    public void Insert_assigns_increasing_sequences_and_find_returns_every_field()
    {
        var catalog = Open();
        Assert.Equal(0, catalog.LastSeq);
        var first = catalog.Insert(Image(1, "c1"), [], Indexed(Image(1)))!;
        var second = catalog.Insert(Audio(2), [], Indexed(Audio(2)))!;
        Assert.True(first.Seq >= 1);
        Assert.True(second.Seq > first.Seq);
        Assert.Equal(second.Seq, catalog.LastSeq);
        Assert.NotEqual(default, first.CreatedAt);

        var image = catalog.Find(IdOf(1))!;
        Assert.Equal(first.Seq, image.Seq);
        Assert.Equal(("/photos/1.jpg", "image", "jpeg", 1001L, 640, 480, 90, "c1"), (image.Path, image.Modality, image.Format, image.SizeBytes, image.Width, image.Height, image.PdqQuality, image.Collection));
        Assert.Equal(Image(1).Pdq, image.Pdq);
        Assert.Equal(Image(1).PdqDihedral, image.PdqDihedral);
        Assert.Null(image.Chromaprint);
        var audio = catalog.Find(IdOf(2))!;
        Assert.Equal(3.25, audio.DurationSeconds);
        Assert.Equal([1u, 0xFFFFFFFFu, 2u], audio.Chromaprint!);
        Assert.Null(audio.Pdq);
        Assert.Null(catalog.Find(IdOf(3)));
    }

    [Fact]
    public void An_id_is_catalogued_once_and_a_losing_insert_writes_nothing()
    {
        var catalog = Open();
        var a = Indexed(Image(1));
        Assert.NotNull(catalog.Insert(Image(1), [new CatalogEmbedding(Clip, "s", true, Unit(8, 1))], a));
        var b = Indexed(Image(1) with { Path = "/elsewhere.jpg" });
        Assert.Null(catalog.Insert(Image(1) with { Path = "/elsewhere.jpg" }, [new CatalogEmbedding(Clip, "s", true, Unit(8, 2))], b));
        Assert.Equal("/photos/1.jpg", catalog.Find(IdOf(1))!.Path);
        Assert.Single(catalog.Embeddings());
        Assert.Null(catalog.FindSubmission(b.SubmissionId));
        Assert.NotNull(catalog.FindSubmission(a.SubmissionId));
        Assert.Equal(1, catalog.Stats().Items);
    }

    [Fact]
    public void Embeddings_round_trip_bit_for_bit_in_sequence_order_by_pack_and_watermark()
    {
        var catalog = Open();
        var v1 = Unit(512, 1);
        var v2 = Unit(512, 2);
        var v3 = Unit(16, 3);
        var s1 = catalog.Insert(Image(1), [new CatalogEmbedding(Clip, "openai", true, v1)], Indexed(Image(1)))!.Seq;
        var s2 = catalog.Insert(Image(2), [new CatalogEmbedding(Clip, "openai", true, v2), new CatalogEmbedding(Clap, "laion", false, v3)], Indexed(Image(2)))!.Seq;

        var all = catalog.Embeddings().ToList();
        Assert.Equal(3, all.Count);
        Assert.Equal(s1, all[0].Seq);
        Assert.Equal(v1, all[0].Embedding.Vector);
        Assert.Equal((Clip, "openai", true), (all[0].Embedding.Pack, all[0].Embedding.Space, all[0].Embedding.Semantic));

        var clap = Assert.Single(catalog.Embeddings(pack: Clap));
        Assert.Equal((s2, "laion", false), (clap.Seq, clap.Embedding.Space, clap.Embedding.Semantic));
        Assert.Equal(v3, clap.Embedding.Vector);

        var after = catalog.Embeddings(afterSeq: s1).ToList();
        Assert.Equal(2, after.Count);
        Assert.All(after, e => Assert.Equal(s2, e.Seq));
        Assert.Equal([IdOf(2)], catalog.Items(afterSeq: s1).Select(i => i.Id));
        Assert.Equal([IdOf(1), IdOf(2)], catalog.Items().Select(i => i.Id));
    }

    [Fact]
    public void Submissions_keep_every_flag_field_and_the_first_record_wins()
    {
        var catalog = Open();
        var item = Image(1);
        var flags = new[]
        {
            new CatalogFlag(FlagKind.NearDuplicate, FlagMethods.Pdq, IdOf(9), "/photos/9.jpg", 12, 31),
            new CatalogFlag(FlagKind.Anomaly, FlagMethods.Knn("clip"), Threshold: 0.41, Score: 0.52),
            new CatalogFlag(FlagKind.Concept, FlagMethods.Embedding("clip"), Threshold: 0.25, Score: 0.31, Label: "weapons", Action: "block"),
        };
        var indexed = Indexed(item, flags);
        catalog.Insert(item, [], indexed);
        var found = catalog.FindSubmission(indexed.SubmissionId)!;
        Assert.Equal((indexed.CorrelationId, IdOf(1), "/photos/1.jpg", "image", SubmissionStatus.Indexed, (string?)null),
            (found.CorrelationId, found.MediaId, found.Path, found.Modality, found.Status, found.Error));
        Assert.Equal(flags, found.Flags);

        var rejected = new SubmissionRecord(Guid.NewGuid(), Guid.NewGuid(), null, "/bad.wav", "audio", SubmissionStatus.Rejected, [], "corrupt WAV: short fmt chunk");
        catalog.RecordSubmission(rejected);
        catalog.RecordSubmission(rejected with { Error = "second answer" });
        var r = catalog.FindSubmission(rejected.SubmissionId)!;
        Assert.Equal((SubmissionStatus.Rejected, "corrupt WAV: short fmt chunk", (string?)null), (r.Status, r.Error, r.MediaId));
        Assert.Empty(r.Flags);
        Assert.Null(catalog.FindSubmission(Guid.NewGuid()));
    }

    [Fact]
    public void Flags_of_an_item_are_those_of_its_indexing_submission_then_of_its_exact_duplicates()
    {
        var catalog = Open();
        var near = new CatalogFlag(FlagKind.NearDuplicate, FlagMethods.Embedding("clip"), IdOf(7), "/p/7.jpg", 0.01, 0.05);
        catalog.Insert(Image(1), [], Indexed(Image(1), near));
        var exact = new CatalogFlag(FlagKind.ExactDuplicate, FlagMethods.Sha256, IdOf(1), "/photos/1.jpg", 0, 0);
        catalog.RecordSubmission(new SubmissionRecord(Guid.NewGuid(), Guid.NewGuid(), IdOf(1), "/copy/1.jpg", "image", SubmissionStatus.Duplicate, [exact]));
        Assert.Equal([near, exact], catalog.Flags(IdOf(1)));
        Assert.Empty(catalog.Flags(IdOf(2)));
        var stats = catalog.Stats();
        Assert.Equal(1, stats.Flags[FlagKinds.NearDuplicate]);
        Assert.Equal(1, stats.Flags[FlagKinds.ExactDuplicate]);
    }

    [Fact]
    public void Stats_count_items_by_modality_embeddings_by_pack_key_and_flags_by_kind()
    {
        var catalog = Open();
        catalog.Insert(Image(1), [new CatalogEmbedding(Clip, "s", true, Unit(8, 1))], Indexed(Image(1)));
        catalog.Insert(Image(2), [new CatalogEmbedding(Clip, "s", true, Unit(8, 2))], Indexed(Image(2), new CatalogFlag(FlagKind.Anomaly, "knn:clip", Score: 1, Threshold: 0.5)));
        catalog.Insert(Audio(3), [new CatalogEmbedding(Clap, "a", true, Unit(8, 3))], Indexed(Audio(3)));
        var s = catalog.Stats();
        Assert.Equal(3, s.Items);
        Assert.Equal(2, s.ByModality["image"]);
        Assert.Equal(1, s.ByModality["audio"]);
        Assert.Equal(2, s.Packs["clip@1"]);
        Assert.Equal(1, s.Packs["clap@2"]);
        Assert.Equal(1, s.Flags["anomaly"]);
    }

    [Fact]
    public void Insert_refuses_a_submission_that_does_not_describe_the_item()
    {
        var catalog = Open();
        Assert.Throws<ArgumentException>(() => catalog.Insert(Image(1), [], Indexed(Image(2))));
        Assert.Throws<ArgumentException>(() => catalog.Insert(Image(1), [], Indexed(Image(1)) with { Status = SubmissionStatus.Duplicate }));
        Assert.Null(catalog.Find(IdOf(1)));
    }

    [Fact]
    public void Concurrent_inserts_of_one_id_catalog_it_once_and_distinct_ids_get_distinct_sequences()
    {
        var catalog = Open();
        var wins = 0;
        Parallel.For(0, 16, i =>
        {
            if (catalog.Insert(Image(1) with { Path = $"/race/{i}.jpg" }, [], Indexed(Image(1))) is not null) Interlocked.Increment(ref wins);
        });
        Assert.Equal(1, wins);
        var seqs = new long[64];
        Parallel.For(0, 64, i => seqs[i] = catalog.Insert(Image(100 + i), [], Indexed(Image(100 + i)))!.Seq);
        Assert.Equal(64, seqs.Distinct().Count());
        Assert.Equal(65, catalog.Stats().Items);
        Assert.Equal(catalog.Items().Select(i => i.Seq).Order(), catalog.Items().Select(i => i.Seq));
    }

    [Fact]
    public void Everything_survives_a_reopen()
    {
        var submission = Indexed(Image(1), new CatalogFlag(FlagKind.Concept, "embedding:clip", Score: 0.3, Threshold: 0.2, Label: "x", Action: "review"));
        var v = Unit(32, 5);
        using (var catalog = OpenCatalog())
        {
            catalog.Insert(Image(1), [new CatalogEmbedding(Clip, "s", true, v)], submission);
            catalog.Insert(Audio(2), [], Indexed(Audio(2)));
        }
        var reopened = Open();
        Assert.Equal(2, reopened.Stats().Items);
        Assert.Equal(v, reopened.Embeddings().Single().Embedding.Vector);
        Assert.Equal(submission.Flags, reopened.FindSubmission(submission.SubmissionId)!.Flags);
        var seq = reopened.Insert(Image(3), [], Indexed(Image(3)))!.Seq;
        Assert.True(seq > reopened.Find(IdOf(2))!.Seq);
    }

    [Fact]
    public void A_write_group_commits_its_writes_and_its_own_thread_reads_them_before_the_commit()
    {
        var catalog = Open();
        var first = Indexed(Image(1));
        var rejected = new SubmissionRecord(Guid.NewGuid(), Guid.NewGuid(), null, "/bad.jpg", "image", SubmissionStatus.Rejected, [], "not an image");
        CatalogItem a, b;
        using (var group = catalog.BeginWriteGroup())
        {
            a = group.Insert(Image(1), [new CatalogEmbedding(Clip, "s", true, Unit(8, 1))], first)!;
            b = group.Insert(Image(2), [], Indexed(Image(2)))!;
            group.RecordSubmission(rejected);
            Assert.True(b.Seq > a.Seq);
            // What the next decision of the group reads: the earlier item's path, the recorded submissions.
            Assert.Equal("/photos/1.jpg", catalog.Find(IdOf(1))!.Path);
            Assert.Equal(SubmissionStatus.Indexed, catalog.FindSubmission(first.SubmissionId)!.Status);
            Assert.Equal("not an image", catalog.FindSubmission(rejected.SubmissionId)!.Error);
            group.Commit();
        }
        Assert.Equal(b.Seq, catalog.LastSeq);
        var other = Open(); // another connection: what it sees was committed
        Assert.Equal(a.Seq, other.Find(IdOf(1))!.Seq);
        Assert.Equal(b.Seq, other.Find(IdOf(2))!.Seq);
        Assert.Single(other.Embeddings());
        Assert.Equal("not an image", other.FindSubmission(rejected.SubmissionId)!.Error);
    }

    [Fact]
    public void In_a_write_group_an_id_is_catalogued_once_and_the_losing_insert_leaves_the_others()
    {
        var catalog = Open();
        var loser = Indexed(Image(1) with { Path = "/again.jpg" });
        using (var group = catalog.BeginWriteGroup())
        {
            Assert.NotNull(group.Insert(Image(1), [], Indexed(Image(1))));
            Assert.Null(group.Insert(Image(1) with { Path = "/again.jpg" }, [], loser));
            Assert.Throws<ArgumentException>(() => group.Insert(Image(3), [], Indexed(Image(4))));
            Assert.NotNull(group.Insert(Image(2), [], Indexed(Image(2))));
            group.Commit();
        }
        var other = Open();
        Assert.Equal("/photos/1.jpg", other.Find(IdOf(1))!.Path);
        Assert.NotNull(other.Find(IdOf(2)));
        Assert.Null(other.Find(IdOf(3)));
        Assert.Null(other.FindSubmission(loser.SubmissionId));
        Assert.Equal(2, other.Stats().Items);
    }
}
