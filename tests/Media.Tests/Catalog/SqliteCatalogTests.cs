using Media.Catalog;

namespace Media.Tests.Catalog;

public sealed class SqliteCatalogTests : CatalogContract
{
    protected override IMediaCatalog OpenCatalog() => SqliteCatalog.Open(Dir.Path);

    /// <summary>The embedded catalog groups for real (one transaction): nothing of a group is visible elsewhere or
    /// durable before its commit, and a group disposed without one leaves no trace.</summary>
    [Fact]
    public void A_write_group_is_one_transaction_rolled_back_when_not_committed()
    {
        var catalog = Open();
        var other = Open();
        var kept = catalog.Insert(Image(1), [], Indexed(Image(1)))!;
        var lost = Indexed(Image(2));
        using (var group = catalog.BeginWriteGroup())
        {
            group.Insert(Image(2), [new CatalogEmbedding(new("clip", "1"), "s", true, Unit(8, 2))], lost);
            Assert.NotNull(catalog.Find(IdOf(2)));
            Assert.Null(other.Find(IdOf(2)));
        }
        Assert.Null(catalog.Find(IdOf(2)));
        Assert.Null(catalog.FindSubmission(lost.SubmissionId));
        Assert.Empty(catalog.Embeddings());
        Assert.Equal(kept.Seq, catalog.LastSeq);

        using (var group = catalog.BeginWriteGroup())
        {
            group.Insert(Image(3), [], Indexed(Image(3)));
            Assert.Null(other.Find(IdOf(3)));
            group.Commit();
        }
        Assert.NotNull(other.Find(IdOf(3)));
    }

    /// <summary>While a group is open, the catalog belongs to its thread: another thread's call waits for its end
    /// (and so never reads a write that may yet be rolled back).</summary>
    [Fact]
#pragma warning disable xUnit1031 // The group belongs to this thread: an await could resume on another and leave it there.
    public void Another_thread_waits_for_the_end_of_an_open_write_group()
    {
        var catalog = Open();
        Task<CatalogItem?> find;
        using (var group = catalog.BeginWriteGroup())
        {
            group.Insert(Image(1), [], Indexed(Image(1)));
            find = Task.Run(() => catalog.Find(IdOf(1)));
            Assert.False(find.Wait(TimeSpan.FromMilliseconds(300)));
            Assert.Throws<InvalidOperationException>(() => catalog.BeginWriteGroup());
        }
        Assert.Null(find.Result);
    }
#pragma warning restore xUnit1031
}

/// <summary>Schema versions: a version 1 file (the first release) migrates at open; a newer file is refused.</summary>
public sealed class SqliteCatalogMigrationTests : IDisposable
{
    readonly TempDir _tmp = new();

    /// <summary>Writes a catalog exactly as version 1 did: media keyed by id, results as the JSON of MediaProcessed.</summary>
    void WriteVersion1(string dir)
    {
        Directory.CreateDirectory(dir);
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dir, "catalog.db")};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        var v = new byte[8];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes<float>([0.6f, 0.8f]).CopyTo(v);
        cmd.CommandText = """
            PRAGMA journal_mode = WAL;
            CREATE TABLE media (
              id TEXT PRIMARY KEY, path TEXT NOT NULL, modality TEXT NOT NULL, format TEXT, size_bytes INTEGER NOT NULL,
              width INTEGER NOT NULL, height INTEGER NOT NULL, pdq BLOB, pdq_quality INTEGER NOT NULL, pdq_dihedral BLOB,
              duration REAL, chromaprint BLOB,
              collection TEXT, created_at TEXT NOT NULL, seq INTEGER NOT NULL);
            CREATE INDEX media_seq ON media(seq);
            CREATE TABLE embeddings (
              media_id TEXT NOT NULL REFERENCES media(id), pack TEXT NOT NULL, space TEXT NOT NULL, semantic INTEGER NOT NULL,
              dim INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (media_id, pack));
            CREATE TABLE flags (
              id INTEGER PRIMARY KEY AUTOINCREMENT, media_id TEXT NOT NULL, kind TEXT NOT NULL, method TEXT NOT NULL,
              of_id TEXT, of_path TEXT, distance REAL, threshold REAL, created_at TEXT NOT NULL);
            CREATE INDEX flags_media ON flags(media_id);
            CREATE TABLE submissions (submission_id TEXT PRIMARY KEY, result TEXT NOT NULL, created_at TEXT NOT NULL);
            INSERT INTO media VALUES ('bbbb', '/b.jpg', 'image', 'jpeg', 20, 4, 3, NULL, 0, NULL, NULL, NULL, NULL, '2026-01-01T00:00:00.0000000+00:00', 2);
            INSERT INTO media VALUES ('aaaa', '/a.jpg', 'image', 'jpeg', 10, 4, 3, NULL, 0, NULL, NULL, NULL, 'c', '2026-01-01T00:00:00.0000000+00:00', 1);
            INSERT INTO embeddings VALUES ('bbbb', 'clip@1', 'openai', 1, 2, $v);
            INSERT INTO flags VALUES (1, 'bbbb', 'concept', 'embedding:clip', NULL, NULL, NULL, 0.2, '2026-01-01T00:00:00Z');
            INSERT INTO submissions VALUES ('6f9619ff-8b86-d011-b42d-00cf4fc964ff',
              '{"SubmissionId":"6f9619ff-8b86-d011-b42d-00cf4fc964ff","CorrelationId":"00000000-0000-0000-0000-000000000001","MediaId":"bbbb","Sha256":"bbbb","Path":"/b.jpg","Modality":"image","Status":"indexed","Flags":[{"Kind":"concept","Method":"embedding:clip","Of":null,"OfPath":null,"Distance":null,"Threshold":0.2,"Score":0.31,"Concept":"weapons","Action":"block"}],"Error":null}',
              '2026-01-01T00:00:00Z');
            INSERT INTO submissions VALUES ('6f9619ff-8b86-d011-b42d-00cf4fc964fe',
              '{"SubmissionId":"6f9619ff-8b86-d011-b42d-00cf4fc964fe","CorrelationId":"00000000-0000-0000-0000-000000000001","MediaId":null,"Sha256":null,"Path":"/bad.wav","Modality":"audio","Status":"rejected","Flags":[],"Error":"not a RIFF/WAVE file"}',
              '2026-01-01T00:00:00Z');
            PRAGMA user_version = 1;
            """;
        cmd.Parameters.AddWithValue("$v", v);
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public void A_version_1_catalog_migrates_keeping_order_vectors_and_the_flag_fields_version_1_dropped()
    {
        WriteVersion1(_tmp.Path);
        using var catalog = SqliteCatalog.Open(_tmp.Path);
        Assert.Equal(["aaaa", "bbbb"], catalog.Items().Select(i => i.Id));
        Assert.Equal([1L, 2], catalog.Items().Select(i => i.Seq));
        Assert.Equal("c", catalog.Find("aaaa")!.Collection);
        var e = Assert.Single(catalog.Embeddings());
        Assert.Equal((2L, "clip@1"), (e.Seq, e.Embedding.Pack.ToString()));
        Assert.Equal([0.6f, 0.8f], e.Embedding.Vector);
        var s = catalog.FindSubmission(Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964ff"))!;
        var flag = Assert.Single(s.Flags);
        Assert.Equal((Media.Domain.FlagKind.Concept, 0.31, "weapons", "block"), (flag.Kind, flag.Score, flag.Label, flag.Action));
        Assert.Equal(flag, Assert.Single(catalog.Flags("bbbb")));
        var rejected = catalog.FindSubmission(Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964fe"))!;
        Assert.Equal((Media.Domain.SubmissionStatus.Rejected, "not a RIFF/WAVE file"), (rejected.Status, rejected.Error));
        Assert.Equal(3, catalog.Insert(new CatalogItem(0, "cccc", "/c.jpg", "image", "png", 1, 1, 1), [],
            new SubmissionRecord(Guid.NewGuid(), Guid.NewGuid(), "cccc", "/c.jpg", "image", Media.Domain.SubmissionStatus.Indexed, []))!.Seq);
    }

    [Fact]
    public void A_catalog_from_a_newer_build_is_refused_and_left_untouched()
    {
        using (var catalog = SqliteCatalog.Open(_tmp.Path)) { }
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_tmp.Path, "catalog.db")};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA user_version = 99";
            cmd.ExecuteNonQuery();
        }
        var ex = Assert.Throws<CatalogException>(() => SqliteCatalog.Open(_tmp.Path));
        Assert.Contains("schema version 99", ex.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_catalog_is_refused_with_its_path()
    {
        File.WriteAllText(Path.Combine(_tmp.Path, "catalog.db"), "this is not a database, just text that is long enough to be a header");
        var ex = Assert.Throws<CatalogException>(() => SqliteCatalog.Open(_tmp.Path));
        Assert.Contains("catalog.db", ex.Message);
    }

    public void Dispose() => _tmp.Dispose();
}
