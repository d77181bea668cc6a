using Media.Catalog;
using Media.Catalog.Postgres;

namespace Media.Application;

/// <summary>
/// Opens the catalog a configuration names by its location: a data folder (the embedded SQLite catalog, one node) or a
/// <c>postgresql://user:password@host:port/database</c> URI (the shared PostgreSQL catalog that many detect, query and
/// API nodes open at once; <c>--catalog</c>, <c>Media:Catalog</c>).
/// </summary>
public static class Catalogs
{
    /// <summary>Whether <paramref name="location"/> is a shared (PostgreSQL) catalog rather than a data folder.</summary>
    /// <exception cref="CatalogException">A URI of another scheme (<c>mysql://…</c>, a mistyped <c>postgresq://…</c>): refused rather than taken for a folder name.</exception>
    public static bool IsShared(string location)
    {
        if (PostgresLocation.IsPostgres(location)) return true;
        if (location.Contains("://", StringComparison.Ordinal))
            throw new CatalogException($"'{location[..location.IndexOf("://", StringComparison.Ordinal)]}://…' is not a catalog this service opens: give a data folder or postgresql://user:password@host:port/database");
        return false;
    }

    /// <summary>Opens (creating when absent) the catalog at <paramref name="location"/>: a data folder or a <c>postgresql://</c> URI.</summary>
    /// <exception cref="CatalogException">Unreadable, corrupt, unreachable, or of a newer schema.</exception>
    public static IMediaCatalog Open(string location) => IsShared(location) ? PostgresCatalog.Open(location) : SqliteCatalog.Open(location);

    /// <summary>Opens (creating when absent) the hash banks of the catalog at <paramref name="location"/>: the same store, tables of their own.</summary>
    /// <exception cref="CatalogException">Unreadable, corrupt, unreachable, or of a newer schema.</exception>
    public static IHashBankStore OpenBanks(string location) => IsShared(location) ? PostgresCatalog.Open(location) : SqliteCatalog.Open(location);

    /// <summary>Whether a catalog exists at <paramref name="location"/> (commands that only read refuse an empty folder). A
    /// PostgreSQL location counts as existing: opening it says whether the server and database are there.</summary>
    public static bool Exists(string location) =>
        PostgresLocation.IsPostgres(location) || location.Contains("://", StringComparison.Ordinal) /* refused by Open, with the reason */ ||
        File.Exists(Path.Combine(location, SqliteCatalog.FileName));

    /// <summary>The location for messages: a folder's full path, or the URI without its password.</summary>
    public static string Describe(string location) =>
        PostgresLocation.IsPostgres(location) ? PostgresLocation.Describe(location)
        : location.Contains("://", StringComparison.Ordinal) ? location[..location.IndexOf("://", StringComparison.Ordinal)] + "://…"
        : Path.GetFullPath(location);
}
