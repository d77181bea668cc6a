using Media.Catalog;
using Media.Domain;
using Media.Index;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Media.Detection;

/// <summary>What detection and search need to know of a catalogued item without going to the catalog.</summary>
/// <param name="Seq">Catalog sequence (the index row id).</param>
/// <param name="Id">SHA-256 hex.</param>
/// <param name="Modality"><c>image</c> or <c>audio</c>.</param>
/// <param name="Collection">Collection tag, or null.</param>
/// <param name="PdqQuality">PDQ quality 0–100 (images).</param>
public sealed record IndexedItem(long Seq, string Id, string Modality, string? Collection, int PdqQuality);

/// <summary>An indexed embedding space: one pack@version's vectors.</summary>
public sealed record IndexedSpace(PackKey Pack, string Space, bool Semantic, IVectorIndex Index);

/// <summary>How <see cref="IndexedCatalog"/> builds and keeps its indexes.</summary>
public sealed record IndexSettings
{
    /// <summary>
    /// Makes an empty vector index of a dimension. Default: HNSW (exact scan below 2,048 rows) walked with int8 codes and
    /// re-ranked with the float vectors (half the time per search and 1.5× the insertions per second of float walks at
    /// equal recall, docs/hnsw-measurement.md, for about D + 64 bytes more per row), inserting on a background thread behind
    /// an exact buffer, so detection's next query does not wait for the previous item's insertion.
    /// </summary>
    public Func<int, IVectorIndex> NewVectorIndex { get; init; } = d => new BufferedVectorIndex(new HnswVectorIndex(d, new HnswOptions { Quantize = true }));
    /// <summary>Makes the empty 256-bit PDQ index (default: multi-index hashing, exact at any radius).</summary>
    public Func<IBinaryIndex> NewPdqIndex { get; init; } = () => new MultiIndexHashing(256);
    /// <summary>Where the snapshot lives (normally <c>DATA/index.snapshot</c>), or null for none.</summary>
    public string? SnapshotFile { get; init; }
}

/// <summary>
/// The catalog with the indexes derived from it: one <see cref="IVectorIndex"/> per pack@version, one 256-bit
/// <see cref="IBinaryIndex"/> of PDQ hashes, one <see cref="AudioFingerprintIndex"/>, and a compact table of what
/// detection asks of every item (id, modality, collection, PDQ quality) — all keyed by the catalog sequence, about
/// 40 bytes per item beyond the indexes. Paths are read from the catalog when a flag or a hit names one.
/// <para>At open the state comes from the snapshot when one is valid (<see cref="IndexSnapshot"/>), and the catalog rows
/// after its watermark are applied; otherwise everything is rebuilt from the catalog. <see cref="Add"/> commits to the
/// catalog first and then indexes, so a crash loses nothing acknowledged. In a write group
/// (<see cref="BeginWriteGroup"/>) an item is indexed as soon as it is written, before the group commits, so that the
/// group's later items are decided against it; a group that ends without its commit makes the indexes reload from the
/// catalog (seconds at 10⁶ items), so they never hold an item the catalog lost. Thread-safe: many readers, one writer.
/// Disposing releases the indexes (their background threads), not the catalog, which its opener owns.</para>
/// </summary>
public sealed class IndexedCatalog : IDisposable
{
    readonly Dictionary<PackKey, IndexedSpace> _spaces = [];
    readonly Dictionary<(PackKey Pack, int Collection), long> _population = [];
    readonly ItemTable _items = new();
    readonly IndexSettings _settings;
    readonly ILogger _log;
    readonly Lock _gate = new();
    /// <summary>Held while indexing one item and while a snapshot is taken, so a snapshot is never half an item.</summary>
    readonly Lock _writer = new();

    public IMediaCatalog Catalog { get; }
    /// <summary>PDQ hashes (32 bytes, the hex form's byte order) by sequence.</summary>
    public IBinaryIndex Pdq { get; private set; }
    public AudioFingerprintIndex Chromaprint { get; private set; } = new();
    /// <summary>The highest catalog sequence indexed.</summary>
    public long Watermark { get; private set; }
    /// <summary>The catalog's <see cref="IMediaCatalog.EmbeddingGeneration"/> these indexes reflect; −1 when another writer
    /// changed embeddings of old items meanwhile (a snapshot taken now is then never trusted).</summary>
    public long EmbeddingGeneration { get; private set; }
    /// <summary>Embeddings added to items already indexed (<see cref="AddEmbedding"/>) since this object was built.</summary>
    public long EmbeddingsAdded => Interlocked.Read(ref _embeddingsAdded);
    long _embeddingsAdded;

    /// <param name="catalog">The catalog (its opener owns and disposes it).</param>
    /// <param name="settings">Index implementations and the snapshot file.</param>
    /// <param name="logger">Says how the indexes were loaded and why a snapshot was not used.</param>
    public IndexedCatalog(IMediaCatalog catalog, IndexSettings? settings = null, ILogger? logger = null)
    {
        Catalog = catalog;
        _settings = settings ?? new IndexSettings();
        _log = logger ?? NullLogger.Instance;
        Pdq = _settings.NewPdqIndex();
        Load();
    }

    /// <summary>Loads the indexes: the snapshot when one is valid, then the catalog rows after its watermark; otherwise
    /// everything from the catalog. On empty indexes.</summary>
    void Load()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        // Read before the catch-up: a change made during it makes a later snapshot look stale, never fresh.
        EmbeddingGeneration = Catalog.EmbeddingGeneration;
        var fromSnapshot = _settings.SnapshotFile is { } file && IndexSnapshot.TryLoad(file, this, _log);
        var snapshotWatermark = Watermark;
        var replayed = CatchUp();
        if (fromSnapshot)
            _log.LogInformation("indexes: {Items} items from the snapshot (watermark {Watermark}) and {Replayed} after it from the catalog, in {Seconds:0.0} s",
                Count - replayed, snapshotWatermark, replayed, started.Elapsed.TotalSeconds);
        else
            _log.LogInformation("indexes: {Items} items rebuilt from the catalog in {Seconds:0.0} s", replayed, started.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Applies the catalog rows after <see cref="Watermark"/> up to the catalog's <see cref="IMediaCatalog.LastSeq"/> read
    /// first, so an item committed between the two reads below is applied by the next catch-up, whole, never its
    /// embeddings without it (sequences are strictly increasing in commit order, so every row up to that bound is final).
    /// Returns how many items it indexed.
    /// </summary>
    int CatchUp()
    {
        var after = Watermark;
        var upTo = Catalog.LastSeq;
        if (upTo <= after) return 0;
        var n = 0;
        foreach (var item in Catalog.Items(after).TakeWhile(i => i.Seq <= upTo)) { IndexItem(item); n++; }
        foreach (var (seq, e) in Catalog.Embeddings(after).TakeWhile(e => e.Seq <= upTo)) IndexEmbedding(seq, e);
        return n;
    }

    /// <summary>
    /// Brings the indexes up to date with items other processes catalogued (a shared catalog: detect nodes before each
    /// decision, query nodes before each answer): one read of the last sequence when nothing is new. Returns how many
    /// items it indexed. Embeddings that other processes add to items already indexed (reprocessing) are not applied:
    /// restart the node after a reprocessing job, as with the embedded catalog.
    /// </summary>
    public int Refresh()
    {
        lock (_writer) return CatchUp();
    }

    void IndexItem(CatalogItem item)
    {
        lock (_gate) _items.Add(item.Seq, item.Id, item.Modality, item.Collection, item.PdqQuality);
        if (item.Pdq is { Length: 32 } pdq) Pdq.Add(item.Seq, pdq);
        if (item.Chromaprint is { Length: > 0 } fp) Chromaprint.Add(item.Seq, fp);
        if (item.Seq > Watermark) Watermark = item.Seq;
    }

    void IndexEmbedding(long seq, CatalogEmbedding e)
    {
        IndexedSpace space;
        lock (_gate)
        {
            if (!_spaces.TryGetValue(e.Pack, out space!))
                _spaces[e.Pack] = space = new IndexedSpace(e.Pack, e.Space, e.Semantic, _settings.NewVectorIndex(e.Vector.Length));
            var collection = _items.CollectionId(seq);
            _population[(e.Pack, 0)] = _population.GetValueOrDefault((e.Pack, 0)) + 1;
            if (collection != 0) _population[(e.Pack, collection)] = _population.GetValueOrDefault((e.Pack, collection)) + 1;
        }
        space.Index.Add(seq, e.Vector);
        Interlocked.Increment(ref _vectorsVersion); // after the add: a neighbourhood found before it is stale from here on
    }

    /// <summary>
    /// The <paramref name="k"/> rows of <paramref name="space"/> nearest to <paramref name="vector"/> at
    /// <paramref name="efSearch"/>, without a filter (<see cref="IVectorIndex.Search(ReadOnlySpan{float}, int, int, Func{long, bool}?)"/>),
    /// remembered for the next call with the same array, which must not change meanwhile: detection's near-duplicate
    /// probe and the anomaly rule's k-NN both walk the neighbourhood of an item's embedding, and at 10⁶ items the second
    /// walk cost about 70 µs of the detect thread's 1.1 ms per item. A later call for at most as many rows at the same
    /// efSearch gets a prefix of the remembered answer, which is its own answer: a graph search walks with
    /// max(efSearch, k) candidates and returns the nearest k of them (reused only where efSearch ≥ both k), and an
    /// exact search's nearest k are a prefix of its nearest k' ≥ k. The memory is dropped by any vector indexed since.
    /// Thread-safe; one slot, so callers with different vectors take turns evicting each other.
    /// </summary>
    /// <returns>Nearest first, as <see cref="IVectorIndex.Search(ReadOnlySpan{float}, int, Func{long, bool}?)"/>.</returns>
    public VectorNeighbor[] Nearest(IndexedSpace space, float[] vector, int k, int efSearch)
    {
        var version = Interlocked.Read(ref _vectorsVersion);
        if (Volatile.Read(ref _nearest) is { } n && ReferenceEquals(n.Vector, vector) && n.Space == space && n.EfSearch == efSearch &&
            n.Version == version && k <= n.K && efSearch >= n.K)
            return n.Hits.AsSpan(0, Math.Min(k, n.Hits.Length)).ToArray();
        var hits = space.Index.Search(vector, k, efSearch, null);
        Volatile.Write(ref _nearest, new NearestAnswer(space, vector, k, efSearch, version, [.. hits])); // the caller may change its copy
        return hits;
    }

    sealed record NearestAnswer(IndexedSpace Space, float[] Vector, int K, int EfSearch, long Version, VectorNeighbor[] Hits);
    NearestAnswer? _nearest;
    /// <summary>Counts vectors indexed (<see cref="Nearest"/>'s memory is valid while it stays put).</summary>
    long _vectorsVersion;

    /// <summary>The item with this id (SHA-256 hex), or null.</summary>
    public IndexedItem? Find(string id)
    {
        lock (_gate) return _items.Seq(id) is { } seq ? _items.Get(seq) : null;
    }

    /// <summary>The item with this sequence, or null.</summary>
    public IndexedItem? Find(long seq)
    {
        lock (_gate) return _items.Get(seq);
    }

    /// <summary>The PDQ quality of an item (0 when absent), without allocating: for filters in index scans.</summary>
    public int PdqQuality(long seq)
    {
        lock (_gate) return _items.Quality(seq);
    }

    /// <summary>Whether an item has this modality, without allocating.</summary>
    public bool HasModality(long seq, string modality)
    {
        lock (_gate) return _items.HasModality(seq, modality);
    }

    /// <summary>Whether an item carries this collection tag, without allocating.</summary>
    public bool InCollection(long seq, string collection)
    {
        lock (_gate) return _items.InCollection(seq, collection);
    }

    /// <summary>The first path of an item, read from the catalog; null when absent.</summary>
    public string? PathOf(long seq) => Find(seq) is { } item ? Catalog.Find(item.Id)?.Path : null;

    /// <summary>Items held.</summary>
    public long Count
    {
        get { lock (_gate) return _items.Count; }
    }

    /// <summary>Embeddings of a pack@version, in all or within one collection. O(1).</summary>
    public long Population(PackKey pack, string? collection = null)
    {
        lock (_gate)
        {
            var c = collection is null ? 0 : _items.ExistingCollectionId(collection);
            return c < 0 ? 0 : _population.GetValueOrDefault((pack, c));
        }
    }

    /// <summary>The indexed space of a pack@version, or null when nothing is indexed with it.</summary>
    public IndexedSpace? Space(PackKey pack)
    {
        lock (_gate) return _spaces.GetValueOrDefault(pack);
    }

    /// <summary>Every indexed space, by pack key.</summary>
    public IReadOnlyList<IndexedSpace> Spaces
    {
        get { lock (_gate) return [.. _spaces.Values.OrderBy(s => s.Pack.ToString(), StringComparer.Ordinal)]; }
    }

    /// <summary>Commits a new item to the catalog, then indexes it. Null when the id was already catalogued (nothing written).</summary>
    public CatalogItem? Add(CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission)
    {
        lock (_writer)
        {
            if (Catalog.Insert(item, embeddings, submission) is not { } stored) return null;
            IndexStored(stored, embeddings);
            return stored;
        }
    }

    internal void IndexStored(CatalogItem stored, IReadOnlyList<CatalogEmbedding> embeddings)
    {
        IndexItem(stored);
        foreach (var e in embeddings) IndexEmbedding(stored.Seq, e);
    }

    /// <summary>
    /// Begins a group of additions that commit to the catalog together (<see cref="IMediaCatalog.BeginWriteGroup"/>:
    /// group commit). Each addition is indexed at once, before the commit, so the group's later items are decided
    /// against its earlier ones; searches may find an item of the group before it is durable. Indexing, snapshots and
    /// catalog calls of other threads wait until the group ends. The group belongs to the thread that began it.
    /// </summary>
    public IndexWriteGroup BeginWriteGroup() => new(this, _writer);

    /// <summary>
    /// Loads the indexes again, as at open: after a write group whose items were indexed and then not committed, so the
    /// indexes hold rows the catalog does not (and whose sequences it will assign again). Searches running meanwhile may
    /// fail on the indexes thrown away. Called under the writer lock.
    /// </summary>
    internal void ReloadAfterLostWrites(int lost)
    {
        _log.LogWarning("indexes: {Items} items indexed by a write group were not committed; loading the indexes again", lost);
        var stale = Spaces;
        var stalePdq = Pdq;
        Reset();
        foreach (var s in stale) (s.Index as IDisposable)?.Dispose(); // their insertion threads
        (stalePdq as IDisposable)?.Dispose();
        Load();
    }

    /// <summary>
    /// Adds an embedding to an item already catalogued and indexed (reprocessing with another pack@version): commits it to
    /// the catalog, then indexes it. False, changing nothing, when the item already has an embedding of that pack@version.
    /// </summary>
    /// <exception cref="ArgumentException">No item has this sequence.</exception>
    public bool AddEmbedding(long seq, CatalogEmbedding embedding)
    {
        lock (_writer)
        {
            if (!Catalog.AddEmbedding(seq, embedding)) return false;
            // Our own write moved the generation by one; anything else means another writer changed embeddings too.
            var generation = Catalog.EmbeddingGeneration;
            EmbeddingGeneration = EmbeddingGeneration >= 0 && generation == EmbeddingGeneration + 1 ? generation : -1;
            if (Find(seq) is not null) IndexEmbedding(seq, embedding);
            Interlocked.Increment(ref _embeddingsAdded);
            return true;
        }
    }

    /// <summary>
    /// Writes the snapshot (atomically: a temporary file renamed over the old one). Indexing waits meanwhile, so the
    /// snapshot holds whole items up to its watermark. Does nothing without a snapshot file.
    /// </summary>
    public void SaveSnapshot()
    {
        if (_settings.SnapshotFile is not { } file) return;
        lock (_writer)
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            IndexSnapshot.Save(file, this);
            _log.LogInformation("indexes: snapshot of {Items} items (watermark {Watermark}) written in {Seconds:0.0} s", Count, Watermark, started.Elapsed.TotalSeconds);
        }
    }

    // ---- snapshot plumbing (IndexSnapshot reads and writes these) ----

    internal ItemTable Items => _items;

    internal IReadOnlyDictionary<(PackKey Pack, int Collection), long> PopulationCounts => _population;

    internal void Restore(long watermark, long embeddingGeneration, IBinaryIndex pdq, AudioFingerprintIndex chromaprint, IEnumerable<IndexedSpace> spaces, IEnumerable<KeyValuePair<(PackKey, int), long>> population)
    {
        Watermark = watermark;
        EmbeddingGeneration = embeddingGeneration;
        Pdq = pdq;
        Chromaprint = chromaprint;
        foreach (var s in spaces) _spaces[s.Pack] = s;
        Interlocked.Increment(ref _vectorsVersion);
        foreach (var (k, v) in population) _population[k] = v;
    }

    internal void Reset()
    {
        Interlocked.Increment(ref _vectorsVersion);
        lock (_gate)
        {
            _items.Clear();
            _spaces.Clear();
            _population.Clear();
        }
        Pdq = _settings.NewPdqIndex();
        Chromaprint = new AudioFingerprintIndex();
        Watermark = 0;
    }

    public void Dispose()
    {
        foreach (var s in Spaces) (s.Index as IDisposable)?.Dispose();
        (Pdq as IDisposable)?.Dispose();
    }
}

/// <summary>
/// Additions to an <see cref="IndexedCatalog"/> that commit to its catalog together (<see cref="IndexedCatalog.BeginWriteGroup"/>).
/// Disposing it without <see cref="Commit"/>, or after a commit that threw, after items were added loads the indexes
/// again (<see cref="IndexedCatalog.ReloadAfterLostWrites"/>): at 10⁶ items, seconds.
/// </summary>
public sealed class IndexWriteGroup : IDisposable
{
    readonly IndexedCatalog _store;
    readonly Lock _writer;
    readonly ICatalogWriteGroup _catalog;
    int _added;
    bool _committed, _disposed;

    internal IndexWriteGroup(IndexedCatalog store, Lock writer)
    {
        _store = store;
        _writer = writer;
        writer.Enter();
        try
        {
            _catalog = store.Catalog.BeginWriteGroup();
        }
        catch
        {
            writer.Exit();
            throw;
        }
    }

    /// <summary>Writes a new item to the group and indexes it; null when the id was already catalogued (nothing written).</summary>
    /// <exception cref="ArgumentException">The submission is not the item's indexed submission.</exception>
    public CatalogItem? Add(CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission)
    {
        if (_catalog.Insert(item, embeddings, submission) is not { } stored) return null;
        _added++;
        _store.IndexStored(stored, embeddings);
        return stored;
    }

    /// <summary>Records a submission that added no item, within the group.</summary>
    public void RecordSubmission(SubmissionRecord submission) => _catalog.RecordSubmission(submission);

    /// <summary>Commits the group's writes, all or none.</summary>
    public void Commit()
    {
        _catalog.Commit();
        _committed = true;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            _catalog.Dispose();
            if (!_committed && _added > 0) _store.ReloadAfterLostWrites(_added);
        }
        finally
        {
            _writer.Exit();
        }
    }
}

