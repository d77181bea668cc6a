using Media.Contracts.V1;
using Media.Embeddings.Hashing;

namespace Media.Index;

/// <summary>
/// The catalog plus its in-memory indexes: one <see cref="VectorIndex"/> per pack key, one <see cref="PdqIndex"/> and one <see cref="AudioFingerprintIndex"/>.
/// At open the indexes are rebuilt from SQLite; every insert updates both after the transaction commits, so a
/// restart loses nothing. Thread-safe.
/// </summary>
public sealed class MediaStore : IDisposable
{
    readonly Dictionary<string, VectorIndex> _vectors = new(StringComparer.Ordinal);
    readonly Dictionary<string, (string Space, bool Semantic)> _packs = new(StringComparer.Ordinal);
    readonly Dictionary<string, MediaRecord> _media = new(StringComparer.Ordinal);
    readonly Lock _gate = new();

    public MediaCatalog Catalog { get; }
    public PdqIndex Pdq { get; } = new();
    public AudioFingerprintIndex Chromaprint { get; } = new();

    MediaStore(MediaCatalog catalog) => Catalog = catalog;

    /// <summary>Opens the catalog in <paramref name="dataDirectory"/> and rebuilds the indexes from it.</summary>
    public static MediaStore Open(string dataDirectory)
    {
        var store = new MediaStore(MediaCatalog.Open(dataDirectory));
        foreach (var m in store.Catalog.AllMedia()) store.IndexMedia(m);
        foreach (var (id, e) in store.Catalog.AllEmbeddings()) store.IndexEmbedding(id, e);
        return store;
    }

    void IndexMedia(MediaRecord m)
    {
        lock (_gate) _media[m.Id] = m;
        if (m.Pdq is not null) Pdq.Add(m.Id, PdqHash.Parse(m.Pdq), m.PdqQuality);
        if (m.Chromaprint is { Length: > 0 } fp) Chromaprint.Add(m.Id, fp);
    }

    void IndexEmbedding(string id, StoredEmbedding e)
    {
        VectorIndex index;
        lock (_gate)
        {
            if (!_vectors.TryGetValue(e.PackKey, out index!))
            {
                _vectors[e.PackKey] = index = new VectorIndex(e.Vector.Length);
                _packs[e.PackKey] = (e.Space, e.Semantic);
            }
        }
        index.Add(id, e.Vector);
    }

    /// <summary>The media with this id, or null.</summary>
    public MediaRecord? Find(string id)
    {
        lock (_gate) return _media.GetValueOrDefault(id);
    }

    /// <summary>Whether these exact bytes (by SHA-256) are indexed.</summary>
    public bool Contains(string sha256) => Find(sha256) is not null;

    /// <summary>The vector index of a pack key (<c>name@version</c>), or null when nothing is indexed with it.</summary>
    public VectorIndex? Vectors(string packKey)
    {
        lock (_gate) return _vectors.GetValueOrDefault(packKey);
    }

    /// <summary>Pack keys with indexed embeddings, with their space and whether they are semantic.</summary>
    public IReadOnlyDictionary<string, (string Space, bool Semantic)> Packs
    {
        get { lock (_gate) return new Dictionary<string, (string, bool)>(_packs); }
    }

    /// <summary>Commits a new item to the catalog, then adds it to the indexes. False when the id was already catalogued.</summary>
    public bool Add(MediaRecord media, IReadOnlyList<StoredEmbedding> embeddings, IReadOnlyList<MediaFlag> flags, Guid submissionId, MediaProcessed result)
    {
        if (!Catalog.Insert(media, embeddings, flags, submissionId, result)) return false;
        IndexMedia(media);
        foreach (var e in embeddings) IndexEmbedding(media.Id, e);
        return true;
    }

    public void Dispose() => Catalog.Dispose();
}
