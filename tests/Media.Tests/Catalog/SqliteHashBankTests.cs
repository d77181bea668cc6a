using Media.Catalog;
using Microsoft.Data.Sqlite;

namespace Media.Tests.Catalog;

public sealed class SqliteHashBankTests : HashBankContract
{
    protected override IHashBankStore OpenStore() => SqliteCatalog.Open(Dir.Path);

    static SubmissionRecord Indexed(CatalogItem item) =>
        new(Guid.NewGuid(), Guid.NewGuid(), item.Id, item.Path, item.Modality, Media.Domain.SubmissionStatus.Indexed, []);

    [Fact]
    public void Banks_live_in_the_catalog_file_but_apart_from_the_searchable_catalog()
    {
        using var catalog = SqliteCatalog.Open(Dir.Path);
        catalog.CreateBank("known", "block");
        catalog.AddToBank("known", [Image(1), Audio(2)]);
        Assert.Equal(0, catalog.Stats().Items);
        Assert.Empty(catalog.Items());
        Assert.Equal(0, catalog.LastSeq);
        var item = new CatalogItem(0, new string('a', 64), "/a.jpg", "image", "jpeg", 1, 1, 1);
        Assert.Equal(1, catalog.Insert(item, [], Indexed(item))!.Seq);
        Assert.Equal(2, catalog.FindBank("known")!.Contents);
        Assert.Equal([SqliteCatalog.FileName], Directory.GetFiles(Dir.Path, "*.db").Select(Path.GetFileName));
    }

    /// <summary>A version 2 file is a version 3 file without the bank tables: make one, then open it with this build.</summary>
    [Fact]
    public void A_version_2_catalog_migrates_to_version_3_keeping_its_items()
    {
        var item = new CatalogItem(0, new string('b', 64), "/b.jpg", "image", "jpeg", 1, 1, 1, Pdq: new byte[32], PdqQuality: 80);
        using (var catalog = SqliteCatalog.Open(Dir.Path)) catalog.Insert(item, [], Indexed(item));
        using (var db = new SqliteConnection($"Data Source={Path.Combine(Dir.Path, SqliteCatalog.FileName)};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DROP TABLE bank_content; DROP TABLE banks; DROP TABLE bank_generation; PRAGMA user_version = 2;";
            cmd.ExecuteNonQuery();
        }
        using (var migrated = SqliteCatalog.Open(Dir.Path))
        {
            Assert.Equal(item.Id, Assert.Single(migrated.Items()).Id);
            Assert.Empty(migrated.Banks());
            Assert.Equal(0, migrated.BankGeneration);
            migrated.CreateBank("known", "review");
            Assert.Equal(1, migrated.AddToBank("known", [Image(1)]).Added);
        }
        using (var db = new SqliteConnection($"Data Source={Path.Combine(Dir.Path, SqliteCatalog.FileName)};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA user_version";
            Assert.Equal((long)SqliteCatalog.SchemaVersion, (long)cmd.ExecuteScalar()!);
        }
    }
}
