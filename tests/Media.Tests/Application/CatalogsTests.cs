using Media.Application;
using Media.Catalog;

namespace Media.Tests.Application;

public sealed class CatalogsTests
{
    [Theory]
    [InlineData("mysql://user:secret@db/media")]
    [InlineData("postgresq://user:secret@db/media")]   // mistyped scheme
    public void A_uri_of_another_scheme_is_refused_not_taken_for_a_folder(string location)
    {
        var ex = Assert.Throws<CatalogException>(() => Catalogs.Open(location));
        Assert.Contains("is not a catalog this service opens", ex.Message);
        Assert.DoesNotContain("secret", ex.Message);
        Assert.Throws<CatalogException>(() => Catalogs.OpenBanks(location));
        Assert.True(Catalogs.Exists(location)); // so commands go on to Open, which says why
        Assert.DoesNotContain("secret", Catalogs.Describe(location));
        Assert.False(Directory.Exists(location)); // and no folder of that name was created
    }

    [Fact]
    public void Folders_and_postgresql_uris_are_told_apart()
    {
        using var tmp = new TempDir();
        Assert.False(Catalogs.Exists(tmp.Path));
        using (Catalogs.Open(tmp.Path)) { }
        Assert.True(Catalogs.Exists(tmp.Path));
        Assert.True(Catalogs.IsShared("postgresql://u:p@127.0.0.1:5432/db"));
        Assert.False(Catalogs.IsShared(tmp.Path));
        Assert.DoesNotContain(":p@", Catalogs.Describe("postgresql://u:p@127.0.0.1:5432/db"));
    }
}
