using Media.Detection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Media.Application;

/// <summary>
/// Keeps the index snapshot near the catalog: every <see cref="MediaServiceOptions.SnapshotInterval"/>, when at least
/// <see cref="MediaServiceOptions.SnapshotMinItems"/> items were indexed since the last one, and once more when the
/// process stops (after the bus has drained: hosted services stop in reverse order of registration). A start after
/// a crash loads the last snapshot and applies only the catalog rows after its watermark.
/// </summary>
public sealed class IndexSnapshotter(IndexedCatalog index, MediaServiceOptions options, ILogger<IndexSnapshotter> log) : BackgroundService
{
    long _saved = index.Watermark;
    long _savedEmbeddings;

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(options.SnapshotInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
                if (index.Watermark - _saved + (index.EmbeddingsAdded - _savedEmbeddings) >= options.SnapshotMinItems) Save();
        }
        catch (OperationCanceledException) { }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (index.Watermark != _saved || index.EmbeddingsAdded != _savedEmbeddings) Save();
    }

    void Save()
    {
        try
        {
            var watermark = index.Watermark;
            var embeddings = index.EmbeddingsAdded;
            index.SaveSnapshot();
            _saved = watermark;
            _savedEmbeddings = embeddings;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            log.LogWarning("indexes: snapshot not written: {Error} (the next start rebuilds from the catalog)", ex.Message);
        }
    }
}
