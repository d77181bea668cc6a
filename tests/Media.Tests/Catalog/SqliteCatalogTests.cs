using Media.Catalog;

namespace Media.Tests.Catalog;

public sealed class SqliteCatalogTests : CatalogContract
{
    protected override IMediaCatalog OpenCatalog() => SqliteCatalog.Open(Dir.Path);
}
