using LiteDB;
using Media.Catalog;

namespace Media.Tests.Catalog;

/// <summary>The contract on LiteDB as <see cref="LiteDbCatalog.Open(string)"/> opens it (shared mode).</summary>
public sealed class LiteDbCatalogTests : CatalogContract
{
    protected override IMediaCatalog OpenCatalog() => LiteDbCatalog.Open(Dir.Path);

    [Fact]
    public void A_file_with_a_newer_schema_is_refused()
    {
        using (var c = OpenCatalog()) c.Insert(Image(1), [], Indexed(Image(1)));
        using (var raw = new LiteDatabase(new ConnectionString { Filename = Path.Combine(Dir.Path, LiteDbCatalog.FileName), Connection = ConnectionType.Direct }))
            raw.UserVersion = LiteDbCatalog.SchemaVersion + 1;
        var ex = Assert.Throws<CatalogException>(() => LiteDbCatalog.Open(Dir.Path));
        Assert.Contains($"schema version {LiteDbCatalog.SchemaVersion + 1}", ex.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_catalog_is_refused()
    {
        File.WriteAllBytes(Path.Combine(Dir.Path, LiteDbCatalog.FileName), Enumerable.Range(0, 3 * 8192).Select(i => (byte)(i * 31)).ToArray());
        Assert.Throws<CatalogException>(() => LiteDbCatalog.Open(Dir.Path));
    }
}

/// <summary>The contract on LiteDB in direct mode (one engine kept open by the process).</summary>
public sealed class LiteDbDirectCatalogTests : CatalogContract
{
    protected override IMediaCatalog OpenCatalog() => LiteDbCatalog.Open(Dir.Path, ConnectionType.Direct);
}
