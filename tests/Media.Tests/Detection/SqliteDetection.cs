using Media.Catalog;
using Media.Detection;

namespace Media.Tests.Detection;

/// <summary>A detector with the default policy over the indexes of an SQLite catalog in a temporary folder; disposing it
/// disposes the indexes, the catalog and the folder.</summary>
sealed class SqliteDetection : IDisposable
{
    public TempDir Dir { get; } = new();
    public SqliteCatalog Catalog { get; }
    public IndexedCatalog Store { get; }
    public DuplicateDetector Detector { get; }

    public SqliteDetection()
    {
        Catalog = SqliteCatalog.Open(Dir.Path);
        Store = new IndexedCatalog(Catalog);
        Detector = new DuplicateDetector(Store, new DetectionPolicy());
    }

    public void Dispose()
    {
        Store.Dispose();
        Catalog.Dispose();
        Dir.Dispose();
    }
}
