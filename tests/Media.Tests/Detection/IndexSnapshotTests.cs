using Media.Catalog;
using Media.Detection;
using Media.Domain;
using Microsoft.Extensions.Logging;

namespace Media.Tests.Detection;

/// <summary>Collects log lines.</summary>
sealed class ListLogger : ILogger
{
    public List<string> Lines { get; } = [];
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Lines) Lines.Add(formatter(state, exception));
    }
}

public sealed class IndexSnapshotTests : IDisposable
{
    readonly TempDir _tmp = new();
    string Snapshot => _tmp["index.snapshot"];
    static readonly PackKey Pack = new("p", "1");

    static string Id(int i) => i.ToString("x64");

    static float[] Vector(int i)
    {
        var a = i * 0.37f;
        return [MathF.Cos(a), MathF.Sin(a)];
    }

    static void Insert(IndexedCatalog index, int i, string? collection = null) =>
        index.Add(new CatalogItem(0, Id(i), $"/m/{i}.jpg", i % 5 == 0 ? "audio" : "image", "x", 1, 1, 1,
                Pdq: Enumerable.Range(0, 32).Select(b => (byte)(b ^ i)).ToArray(), PdqQuality: 60 + i % 40,
                Chromaprint: i % 5 == 0 ? [1u, 2u, (uint)i] : null, Collection: collection),
            [new CatalogEmbedding(Pack, "s", true, Vector(i))],
            new SubmissionRecord(Guid.NewGuid(), Guid.NewGuid(), Id(i), $"/m/{i}.jpg", "image", SubmissionStatus.Indexed, []));

    (IMediaCatalog Catalog, IndexedCatalog Index, ListLogger Log) Open()
    {
        var log = new ListLogger();
        var catalog = SqliteCatalog.Open(_tmp.Path);
        return (catalog, new IndexedCatalog(catalog, new IndexSettings { SnapshotFile = Snapshot }, log), log);
    }

    static void AssertSameState(IndexedCatalog expected, IndexedCatalog actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.Watermark, actual.Watermark);
        for (var seq = 1L; seq <= expected.Watermark; seq++) Assert.Equal(expected.Find(seq), actual.Find(seq));
        Assert.Equal(expected.Pdq.Count, actual.Pdq.Count);
        Assert.Equal(expected.Chromaprint.Count, actual.Chromaprint.Count);
        Assert.Equal(expected.Population(Pack), actual.Population(Pack));
        Assert.Equal(expected.Population(Pack, "c"), actual.Population(Pack, "c"));
        var q = Vector(7);
        Assert.Equal(expected.Space(Pack)!.Index.Search(q, 5), actual.Space(Pack)!.Index.Search(q, 5));
        Assert.Equal(expected.Pdq.RangeSearch(Enumerable.Range(0, 32).Select(b => (byte)(b ^ 3)).ToArray(), 20),
            actual.Pdq.RangeSearch(Enumerable.Range(0, 32).Select(b => (byte)(b ^ 3)).ToArray(), 20));
    }

    [Fact]
    public void A_start_loads_the_snapshot_and_applies_only_the_rows_after_its_watermark()
    {
        var (catalog, index, _) = Open();
        for (var i = 1; i <= 40; i++) Insert(index, i, i % 2 == 0 ? "c" : null);
        index.SaveSnapshot();
        for (var i = 41; i <= 50; i++) Insert(index, i, "c");
        catalog.Dispose();

        var (c2, reopened, log) = Open();
        using var _ = c2;
        Assert.Contains(log.Lines, l => l.Contains("from the snapshot (watermark 40) and 10 after it from the catalog"));
        AssertSameState(index, reopened);
        Assert.Equal(30, reopened.Population(Pack, "c"));
        Insert(reopened, 51);
        Assert.Equal(51, reopened.Watermark);
    }

    [Fact]
    public void A_damaged_truncated_or_missing_snapshot_is_rebuilt_from_the_catalog_with_the_reason()
    {
        var (catalog, index, first) = Open();
        Assert.Contains(first.Lines, l => l.Contains("no snapshot"));
        for (var i = 1; i <= 30; i++) Insert(index, i);
        index.SaveSnapshot();
        catalog.Dispose();

        var bytes = File.ReadAllBytes(Snapshot);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(Snapshot, bytes);
        var (c2, damaged, log) = Open();
        Assert.Contains(log.Lines, l => l.Contains("not used (checksum mismatch"));
        Assert.Contains(log.Lines, l => l.Contains("30 items rebuilt from the catalog"));
        AssertSameState(index, damaged);
        c2.Dispose();

        File.WriteAllBytes(Snapshot, bytes[..(bytes.Length / 3)]);
        var (c3, truncated, log3) = Open();
        Assert.Contains(log3.Lines, l => l.Contains("not used"));
        AssertSameState(index, truncated);
        c3.Dispose();
    }

    [Fact]
    public void A_snapshot_of_another_catalog_is_refused()
    {
        var (catalog, index, _) = Open();
        for (var i = 1; i <= 10; i++) Insert(index, i);
        index.SaveSnapshot();
        catalog.Dispose();
        var other = _tmp["other"];
        Directory.CreateDirectory(other);
        File.Copy(Snapshot, Path.Combine(other, "index.snapshot"));
        using var otherCatalog = SqliteCatalog.Open(other);
        var log = new ListLogger();
        var otherIndex = new IndexedCatalog(otherCatalog, new IndexSettings { SnapshotFile = Path.Combine(other, "index.snapshot") }, log);
        Assert.Contains(log.Lines, l => l.Contains("not used") && l.Contains("catalog"));
        Assert.Equal(0, otherIndex.Count);
    }

    public void Dispose() => _tmp.Dispose();
}
