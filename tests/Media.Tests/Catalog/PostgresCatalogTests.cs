using Media.Catalog;
using Media.Catalog.Postgres;
using Media.Domain;
using Npgsql;

namespace Media.Tests.Catalog;

[Collection("postgres")]
public sealed class PostgresCatalogTests(PostgresFixture pg) : CatalogContract
{
    readonly string _uri = pg.NewDatabase();

    protected override IMediaCatalog OpenCatalog() => PostgresCatalog.Open(_uri);

    NpgsqlConnection Sql()
    {
        var c = new NpgsqlConnection(PostgresLocation.ConnectionString(_uri) + ";Pooling=false");
        c.Open();
        return c;
    }

    object? Scalar(string sql)
    {
        using var c = Sql();
        using var cmd = new NpgsqlCommand(sql, c);
        return cmd.ExecuteScalar();
    }

    [Fact]
    public void The_location_names_the_server_and_database_but_never_the_password()
    {
        using var catalog = (PostgresCatalog)Open();
        Assert.DoesNotContain(":media@", catalog.Location);
        Assert.StartsWith("postgresql://media@127.0.0.1:", catalog.Location);
        Assert.Equal("postgresql://u@h:1/d", PostgresLocation.Describe("postgresql://u:s%40cret@h:1/d"));
        var cs = new NpgsqlConnectionStringBuilder(PostgresLocation.ConnectionString("postgresql://u:s%40cret@db.example:6432/media?sslmode=require"));
        Assert.Equal(("db.example", 6432, "u", "s@cret", "media", SslMode.Require), (cs.Host, cs.Port, cs.Username, cs.Password, cs.Database, cs.SslMode));
        var bad = Assert.Throws<CatalogException>(() => PostgresLocation.ConnectionString("postgresql://u:secret@h/d?nosuchoption=1"));
        Assert.DoesNotContain("secret", bad.Message);
    }

    [Fact]
    public void A_server_that_cannot_be_reached_is_a_catalog_error_without_the_password()
    {
        var ex = Assert.Throws<CatalogException>(() => PostgresCatalog.Open("postgresql://media:topsecret@127.0.0.1:1/x?timeout=1"));
        Assert.DoesNotContain("topsecret", ex.Message);
    }

    [Fact]
    public void Pdq_is_bit_256_chromaprint_keys_are_stored_and_each_pack_version_has_an_hnsw_cosine_index()
    {
        var catalog = (PostgresCatalog)Open();
        var clip = new PackKey("clip", "1");
        var vectors = Enumerable.Range(1, 50).Select(i => Unit(16, i)).ToArray();
        for (var i = 0; i < 50; i++)
            catalog.Insert(Image(i + 1), [new CatalogEmbedding(clip, "s", true, vectors[i])], Indexed(Image(i + 1)));
        catalog.Insert(Audio(100), [], Indexed(Audio(100)));

        // The hex form of the PDQ hash is the bit string's order, so SQL distances are PDQ distances.
        Assert.Equal(Convert.ToHexStringLower(Image(1).Pdq!), Convert.ToHexStringLower(catalog.Find(IdOf(1))!.Pdq!));
        Assert.Equal("bit", Scalar("SELECT data_type FROM information_schema.columns WHERE table_name = 'media' AND column_name = 'pdq'"));
        var a = new System.Collections.BitArray(Image(1).Pdq!).Xor(new System.Collections.BitArray(Image(2).Pdq!));
        var expected = Enumerable.Range(0, 256).Count(i => a[i]);
        Assert.Equal((long)expected, Convert.ToInt64(Scalar($"SELECT bit_count(a.pdq # b.pdq) FROM media a, media b WHERE a.id = '{IdOf(1)}' AND b.id = '{IdOf(2)}'")));
        // Chromaprint [1, 0xFFFFFFFF, 100]: keys are the top 20 bits, distinct.
        Assert.Equal("0,1048575", Scalar($"SELECT string_agg(key::text, ',' ORDER BY key) FROM chromaprint_keys k JOIN media m USING (seq) WHERE m.id = '{IdOf(100)}'"));

        var index = (string)Scalar("SELECT indexdef FROM pg_indexes WHERE indexname = (SELECT index_name FROM vector_indexes WHERE pack = 'clip@1')")!;
        Assert.Contains("USING hnsw", index);
        Assert.Contains("vector_cosine_ops", index);
        Assert.Contains("'clip@1'", index);
        var hits = catalog.NearestEmbeddings(clip, vectors[17], 3);
        Assert.Equal(catalog.Find(IdOf(18))!.Seq, hits[0].Seq);
        Assert.True(hits[0].Distance < 1e-5);
        Assert.Throws<ArgumentException>(() => catalog.Insert(Image(200), [new CatalogEmbedding(clip, "s", true, Unit(8, 1))], Indexed(Image(200))));
        Assert.Null(catalog.Find(IdOf(200)));
    }

    [Fact]
    public void A_database_of_a_newer_schema_is_refused_and_left_untouched()
    {
        Open().Dispose();
        using (var c = Sql())
        using (var cmd = new NpgsqlCommand("UPDATE catalog_schema SET version = 99", c)) cmd.ExecuteNonQuery();
        var ex = Assert.Throws<CatalogException>(() => PostgresCatalog.Open(_uri));
        Assert.Contains("schema version 99", ex.Message);
        Assert.Equal(99, Scalar("SELECT version FROM catalog_schema"));
    }

    [Fact]
    public void Nodes_opening_a_new_database_at_once_migrate_it_once()
    {
        var catalogs = new IMediaCatalog[6];
        Parallel.For(0, catalogs.Length, i => catalogs[i] = PostgresCatalog.Open(_uri));
        foreach (var c in catalogs) c.Dispose();
        Assert.Equal(PostgresCatalog.SchemaVersion, Scalar("SELECT version FROM catalog_schema"));
    }

    [Fact]
    public async Task The_detection_lock_has_one_holder_across_catalog_objects_and_is_released_when_its_holder_dies()
    {
        var a = (PostgresCatalog)Open();
        var b = (PostgresCatalog)Open();
        var held = a.LockDetection();
        var waiting = Task.Run(() => b.LockDetection());
        Assert.NotEqual(waiting, await Task.WhenAny(waiting, Task.Delay(500)));
        held.Dispose();
        var second = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        // The holder's connection dies (as with kill -9): the server releases its lock, and the next holder gets it.
        Scalar("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1296320833 AND objid = 2 AND granted");
        using (a.LockDetection()) { }
        second.Dispose();
    }

    [Fact]
    public void An_insert_under_a_detection_lock_that_was_lost_writes_nothing_and_says_so()
    {
        var catalog = (PostgresCatalog)Open();
        var held = catalog.LockDetection();
        Scalar("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1296320833 AND objid = 2 AND granted");
        Assert.Throws<DetectionLockLostException>(() => catalog.Insert(Image(1), [], Indexed(Image(1))));
        held.Dispose();
        Assert.Null(catalog.Find(IdOf(1)));
        using (catalog.LockDetection()) Assert.NotNull(catalog.Insert(Image(1), [], Indexed(Image(1))));
        Assert.Equal(1, catalog.Stats().Items);
    }

    [Fact]
    public async Task Writes_retry_across_a_server_restart_and_nothing_is_lost_or_doubled()
    {
        var catalog = Open();
        var submissions = Enumerable.Range(1, 120).Select(i => Indexed(Image(i))).ToArray();
        var restarted = Task.Run(() =>
        {
            Thread.Sleep(300);
            pg.Restart();
        });
        Parallel.For(0, 120, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            // A commit whose acknowledgement was lost is retried and then finds the id catalogued: null, as for a second node.
            var stored = catalog.Insert(Image(i + 1), [new CatalogEmbedding(new PackKey("clip", "1"), "s", true, Unit(8, i))], submissions[i]);
            if (stored is null) Assert.NotNull(catalog.Find(IdOf(i + 1)));
            Thread.Sleep(10);
        });
        await restarted;
        Assert.Equal(120, catalog.Stats().Items);
        Assert.Equal(120, catalog.Embeddings().Count());
        Assert.All(submissions, s => Assert.NotNull(catalog.FindSubmission(s.SubmissionId)));
        Assert.Equal(Enumerable.Range(1, 120).Select(i => (long)i), catalog.Items().Select(i => i.Seq));
    }
}

[Collection("postgres")]
public sealed class PostgresHashBankTests(PostgresFixture pg) : HashBankContract
{
    readonly string _uri = pg.NewDatabase();

    protected override IHashBankStore OpenStore() => PostgresCatalog.Open(_uri);
}
