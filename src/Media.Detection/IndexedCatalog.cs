using Media.Catalog;
using Media.Domain;
using Media.Index;

namespace Media.Detection;

/// <summary>What detection and search need to know of a catalogued item without going to the catalog.</summary>
/// <param name="Seq">Catalog sequence (the index row id).</param>
/// <param name="Id">SHA-256 hex.</param>
/// <param name="Path">First path seen.</param>
/// <param name="Modality"><c>image</c> or <c>audio</c>.</param>
/// <param name="Collection">Collection tag, or null.</param>
/// <param name="PdqQuality">PDQ quality 0–100 (images).</param>
public sealed record IndexedItem(long Seq, string Id, string Path, string Modality, string? Collection, int PdqQuality);

/// <summary>An indexed embedding space: one pack@version's vectors.</summary>
public sealed record IndexedSpace(PackKey Pack, string Space, bool Semantic, IVectorIndex Index);

/// <summary>
/// The catalog with the indexes derived from it: one <see cref="IVectorIndex"/> per pack@version, one 256-bit
/// <see cref="IBinaryIndex"/> of PDQ hashes and one <see cref="AudioFingerprintIndex"/>, all keyed by the catalog
/// sequence. At open the indexes are rebuilt from the catalog; <see cref="Add"/> commits to the catalog first and then
/// indexes, so a crash loses nothing that was acknowledged. Thread-safe.
/// </summary>
public sealed class IndexedCatalog
{
    readonly Dictionary<PackKey, IndexedSpace> _spaces = [];
    readonly Dictionary<string, IndexedItem> _byId = new(StringComparer.Ordinal);
    readonly Dictionary<long, IndexedItem> _bySeq = [];
    readonly Func<int, IVectorIndex> _newVectorIndex;
    readonly Lock _gate = new();

    public IMediaCatalog Catalog { get; }
    /// <summary>PDQ hashes (32 bytes, the hex form's byte order) by sequence.</summary>
    public IBinaryIndex Pdq { get; } = new FlatBinaryIndex(256);
    public AudioFingerprintIndex Chromaprint { get; } = new();

    /// <param name="catalog">The catalog (its opener owns and disposes it).</param>
    /// <param name="newVectorIndex">Makes an empty vector index of a dimension (default: exact search).</param>
    public IndexedCatalog(IMediaCatalog catalog, Func<int, IVectorIndex>? newVectorIndex = null)
    {
        Catalog = catalog;
        _newVectorIndex = newVectorIndex ?? (d => new FlatVectorIndex(d));
        foreach (var item in catalog.Items()) IndexItem(item);
        foreach (var (seq, e) in catalog.Embeddings()) IndexEmbedding(seq, e);
    }

    void IndexItem(CatalogItem item)
    {
        var summary = new IndexedItem(item.Seq, item.Id, item.Path, item.Modality, item.Collection, item.PdqQuality);
        lock (_gate)
        {
            _byId[item.Id] = summary;
            _bySeq[item.Seq] = summary;
        }
        if (item.Pdq is { Length: 32 } pdq) Pdq.Add(item.Seq, pdq);
        if (item.Chromaprint is { Length: > 0 } fp) Chromaprint.Add(item.Seq, fp);
    }

    void IndexEmbedding(long seq, CatalogEmbedding e)
    {
        IndexedSpace space;
        lock (_gate)
        {
            if (!_spaces.TryGetValue(e.Pack, out space!))
                _spaces[e.Pack] = space = new IndexedSpace(e.Pack, e.Space, e.Semantic, _newVectorIndex(e.Vector.Length));
        }
        space.Index.Add(seq, e.Vector);
    }

    /// <summary>The item with this id (SHA-256 hex), or null.</summary>
    public IndexedItem? Find(string id)
    {
        lock (_gate) return _byId.GetValueOrDefault(id);
    }

    /// <summary>The item with this sequence, or null.</summary>
    public IndexedItem? Find(long seq)
    {
        lock (_gate) return _bySeq.GetValueOrDefault(seq);
    }

    /// <summary>Items held.</summary>
    public int Count
    {
        get { lock (_gate) return _bySeq.Count; }
    }

    /// <summary>The indexed space of a pack@version, or null when nothing is indexed with it.</summary>
    public IndexedSpace? Space(PackKey pack)
    {
        lock (_gate) return _spaces.GetValueOrDefault(pack);
    }

    /// <summary>Every indexed space.</summary>
    public IReadOnlyList<IndexedSpace> Spaces
    {
        get { lock (_gate) return [.. _spaces.Values.OrderBy(s => s.Pack.ToString(), StringComparer.Ordinal)]; }
    }

    /// <summary>Commits a new item to the catalog, then indexes it. Null when the id was already catalogued (nothing written).</summary>
    public CatalogItem? Add(CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission)
    {
        if (Catalog.Insert(item, embeddings, submission) is not { } stored) return null;
        IndexItem(stored);
        foreach (var e in embeddings) IndexEmbedding(stored.Seq, e);
        return stored;
    }
}
