using Media.Catalog;

namespace Media.Application;

/// <summary>Opens the catalog a configuration names: the embedded one under the data folder.</summary>
public static class Catalogs
{
    /// <summary>Opens (creating when absent) the catalog under <paramref name="dataDirectory"/>.</summary>
    /// <exception cref="CatalogException">Unreadable, corrupt, or of a newer schema.</exception>
    public static IMediaCatalog Open(string dataDirectory) => SqliteCatalog.Open(dataDirectory);

    /// <summary>Opens (creating when absent) the hash banks of the catalog under <paramref name="dataDirectory"/>: the same store, tables of their own.</summary>
    /// <exception cref="CatalogException">Unreadable, corrupt, or of a newer schema.</exception>
    public static IHashBankStore OpenBanks(string dataDirectory) => SqliteCatalog.Open(dataDirectory);

    /// <summary>Whether a catalog exists under <paramref name="dataDirectory"/> (commands that only read refuse an empty folder).</summary>
    public static bool Exists(string dataDirectory) => File.Exists(Path.Combine(dataDirectory, SqliteCatalog.FileName));
}
