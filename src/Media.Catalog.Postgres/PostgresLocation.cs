using Npgsql;

namespace Media.Catalog.Postgres;

/// <summary>
/// Catalog locations of the form <c>postgresql://user:password@host:port/database?option=value</c> (libpq's URI form,
/// also <c>postgres://</c>): turned into an Npgsql connection string, and described for messages without the password.
/// Options after <c>?</c> are Npgsql connection-string keywords (e.g. <c>sslmode=require</c>, <c>pooling=false</c>).
/// </summary>
public static class PostgresLocation
{
    /// <summary>Whether <paramref name="location"/> names a PostgreSQL catalog rather than a data folder.</summary>
    public static bool IsPostgres(string? location) =>
        location is not null && (location.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase));

    /// <summary>The Npgsql connection string of a <c>postgresql://</c> URI. Host defaults to 127.0.0.1, port to 5432, database to the user name.</summary>
    /// <exception cref="CatalogException">Not a valid PostgreSQL URI, or an unknown option.</exception>
    public static string ConnectionString(string uri)
    {
        if (!IsPostgres(uri) || !Uri.TryCreate(uri, UriKind.Absolute, out var u))
            throw new CatalogException($"'{Describe(uri)}' is not a PostgreSQL URI: postgresql://user:password@host:port/database");
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = string.IsNullOrEmpty(u.Host) ? "127.0.0.1" : u.Host,
            Port = u.IsDefaultPort || u.Port <= 0 ? 5432 : u.Port,
        };
        if (u.UserInfo.Length > 0)
        {
            var colon = u.UserInfo.IndexOf(':');
            b.Username = Uri.UnescapeDataString(colon < 0 ? u.UserInfo : u.UserInfo[..colon]);
            if (colon >= 0) b.Password = Uri.UnescapeDataString(u.UserInfo[(colon + 1)..]);
        }
        var db = Uri.UnescapeDataString(u.AbsolutePath.TrimStart('/'));
        if (db.Length > 0) b.Database = db;
        foreach (var pair in u.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "true" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            try { b[key] = value; }
            catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
            {
                throw new CatalogException($"{Describe(uri)}: option '{key}': {ex.Message}");
            }
        }
        return b.ConnectionString;
    }

    /// <summary>The URI without its password (for logs and messages).</summary>
    public static string Describe(string uri)
    {
        var scheme = uri.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0) return uri;
        var at = uri.IndexOf('@', scheme + 3);
        if (at < 0) return uri;
        var userInfo = uri[(scheme + 3)..at];
        var colon = userInfo.IndexOf(':');
        return colon < 0 ? uri : uri[..(scheme + 3)] + userInfo[..colon] + uri[at..];
    }
}
