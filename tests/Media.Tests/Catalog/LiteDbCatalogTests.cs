using LiteDB;
using Media.Catalog;
using Media.Domain;

namespace Media.Tests.Catalog;

/// <summary>The contract on LiteDB as <see cref="LiteDbCatalog.Open(string)"/> opens it (shared mode).</summary>
public sealed class LiteDbCatalogTests : LiteDbCatalogContract
{
    protected override IMediaCatalog OpenCatalog() => LiteDbCatalog.Open(Dir.Path);
}

/// <summary>The contract on LiteDB in direct mode (one engine kept open by the process).</summary>
public sealed class LiteDbDirectCatalogTests : LiteDbCatalogContract
{
    protected override IMediaCatalog OpenCatalog() => LiteDbCatalog.Open(Dir.Path, ConnectionType.Direct);
}

/// <summary>The contract, and what the LiteDB implementation adds to it, in either connection mode.</summary>
public abstract class LiteDbCatalogContract : CatalogContract
{
    [Fact]
    public void Streamed_reads_cross_batches_in_order_and_the_catalog_can_be_used_inside_them()
    {
        var catalog = (LiteDbCatalog)Open();
        catalog.Batch = 3;
        PackKey a = new("a", "1"), b = new("b", "1");
        var submissions = new List<SubmissionRecord>();
        for (var i = 1; i <= 10; i++)
        {
            var s = Indexed(Image(i));
            submissions.Add(s);
            catalog.Insert(Image(i), [new CatalogEmbedding(b, "s", true, Unit(4, i)), new CatalogEmbedding(a, "s", true, Unit(4, -i))], s);
        }
        var seen = 0;
        foreach (var item in catalog.Items())
        {
            Assert.Equal(IdOf(seen + 1), item.Id);
            Assert.NotNull(catalog.FindSubmission(submissions[seen].SubmissionId)); // a transaction inside the stream
            if (seen == 4) catalog.Insert(Image(100), [], Indexed(Image(100))); // a write inside it: not in this stream
            seen++;
        }
        Assert.Equal(10, seen);
        var embeddings = catalog.Embeddings(afterSeq: 2).ToList();
        Assert.Equal(16, embeddings.Count);
        Assert.Equal(Enumerable.Range(3, 8).SelectMany(s => new[] { (long)s, s }), embeddings.Select(e => e.Seq));
        Assert.All(embeddings.Where((_, k) => k % 2 == 0), e => Assert.Equal(a, e.Embedding.Pack));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), catalog.Embeddings(pack: b).Select(e => e.Seq));
        Assert.Equal(11, catalog.Items().Count());
    }

    [Fact]
    public void A_file_with_a_newer_schema_is_refused()
    {
        using (var c = OpenCatalog()) c.Insert(Image(1), [], Indexed(Image(1)));
        using (var raw = new LiteDatabase(new ConnectionString { Filename = Path.Combine(Dir.Path, LiteDbCatalog.FileName), Connection = ConnectionType.Direct }))
            raw.UserVersion = LiteDbCatalog.SchemaVersion + 1;
        var ex = Assert.Throws<CatalogException>(() => OpenCatalog());
        Assert.Contains($"schema version {LiteDbCatalog.SchemaVersion + 1}", ex.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_catalog_is_refused()
    {
        File.WriteAllBytes(Path.Combine(Dir.Path, LiteDbCatalog.FileName), Enumerable.Range(0, 3 * 8192).Select(i => (byte)(i * 31)).ToArray());
        Assert.Throws<CatalogException>(() => OpenCatalog());
    }
}
