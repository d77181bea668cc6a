using Media.Catalog;
using Microsoft.Extensions.Logging;

namespace Media.Application;

/// <summary>
/// "Are these bytes catalogued already?" for an encode worker that does not index: one lookup by id in the shared
/// catalog per item, so bytes already catalogued are not decoded and embedded again. A worker started before the
/// catalog exists checks again (at most every few seconds) until it appears, and says once that it is encoding
/// everything meanwhile. The catalog, once opened, is owned and disposed by this object.
/// </summary>
public sealed class CatalogLookup(string dataDirectory, ILogger logger) : IDisposable
{
    static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(5);
    readonly Lock _gate = new();
    IMediaCatalog? _catalog;
    DateTime _nextTry = DateTime.MinValue;
    bool _warned;

    /// <summary>Whether bytes with this SHA-256 (hex) are catalogued; false while no catalog is reachable.</summary>
    public bool Contains(string sha256) => Catalog()?.Find(sha256) is not null;

    IMediaCatalog? Catalog()
    {
        lock (_gate)
        {
            if (_catalog is not null || DateTime.UtcNow < _nextTry) return _catalog;
            _nextTry = DateTime.UtcNow + RetryEvery;
            try
            {
                if (Catalogs.Exists(dataDirectory))
                {
                    _catalog = Catalogs.Open(dataDirectory);
                    logger.LogInformation("encode: skipping bytes already catalogued in {Catalog}", _catalog.Location);
                    return _catalog;
                }
            }
            catch (CatalogException ex)
            {
                logger.LogWarning("encode: cannot read the catalog: {Error}", ex.Message);
            }
            if (!_warned)
                logger.LogWarning("encode: no catalog in {Data} yet: every item is encoded, even bytes catalogued elsewhere (point --data or --catalog at the detect role's catalog)", Catalogs.Describe(dataDirectory));
            _warned = true;
            return null;
        }
    }

    public void Dispose()
    {
        lock (_gate) _catalog?.Dispose();
    }
}
