using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;
using Microsoft.Extensions.Logging;

namespace Media.Application;

/// <summary>
/// The model packs a process loaded (one ONNX Runtime session per tower, shared by every thread). The owner of those
/// sessions: disposing it releases them.
/// </summary>
public sealed class LoadedPacks : IReadOnlyList<ModelPack>, IDisposable
{
    readonly List<ModelPack> _packs;

    /// <exception cref="ModelPackException">A pack fails to load, or two have one name and version.</exception>
    /// <exception cref="ExecutionProviderException">The requested device cannot engage.</exception>
    public LoadedPacks(IEnumerable<string> directories, SessionSettings sessions, ILoggerFactory logging)
    {
        var factory = new OnnxSessionFactory(sessions, logging.CreateLogger("Media.OnnxRuntime"));
        _packs = [];
        try
        {
            foreach (var dir in directories) _packs.Add(ModelPack.Load(dir, factory));
            // Two versions of one name may be loaded side by side (reprocessing; ActivePacks picks the one used); one version twice may not.
            if (_packs.GroupBy(p => p.Key).FirstOrDefault(g => g.Count() > 1) is { } twice)
                throw new ModelPackException($"two packs are {twice.Key}");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public ModelPack this[int index] => _packs[index];
    public int Count => _packs.Count;
    public IEnumerator<ModelPack> GetEnumerator() => _packs.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var p in _packs) p.Dispose();
        _packs.Clear();
    }
}
