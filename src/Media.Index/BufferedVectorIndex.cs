namespace Media.Index;

/// <summary>
/// Adds to an inner index on a background thread, so that a caller who searches and adds in turn (detection: range
/// query, then index the item) is not held up by the inner index's insertion — an HNSW insertion at efConstruction 200
/// costs more than a query. Added vectors wait in a small exact buffer until the inner index has them, and every
/// search covers both, so an item is findable the moment <see cref="Add"/> returns: nothing depends on the background
/// thread's progress but speed. When the buffer holds <c>capacity</c> vectors, <see cref="Add"/> waits for room
/// (back-pressure). <see cref="Save"/> drains the buffer first and writes the inner index behind its own magic, so a
/// load wraps the inner index again. Thread-safe: many readers, one writer; the inner index must allow readers during
/// its writes (every <see cref="IVectorIndex"/> does).
/// </summary>
public sealed class BufferedVectorIndex : IVectorIndex, IDisposable
{
    static ReadOnlySpan<byte> Magic => "MBVI"u8;
    readonly IVectorIndex _inner;
    readonly RowStore<float> _pending;
    readonly Queue<long> _queue = new();
    /// <summary>A monitor (Wait/Pulse): guards the buffer, the queue and the count.</summary>
    readonly object _gate = new();
    /// <summary>Held by the worker while it moves one vector into the inner index, and by <see cref="Remove"/>.</summary>
    readonly Lock _move = new();
    readonly int _capacity;
    readonly Thread _worker;
    long _count;
    bool _stopping;

    /// <param name="inner">The index that ends up holding every vector (owned: disposed with this one if disposable).</param>
    /// <param name="capacity">Most vectors waiting at once.</param>
    public BufferedVectorIndex(IVectorIndex inner, int capacity = 4096)
    {
        _inner = inner;
        _capacity = capacity;
        _pending = new RowStore<float>(inner.Dimension);
        _count = inner.Count;
        _worker = new Thread(Work) { IsBackground = true, Name = "vector-index-insert" };
        _worker.Start();
    }

    public int Dimension => _inner.Dimension;

    /// <summary>The index that ends up holding every vector (for its own settings, such as an HNSW's efSearch).</summary>
    public IVectorIndex Inner => _inner;

    public long Count { get { lock (_gate) return _count; } }

    /// <summary>Vectors not yet in the inner index.</summary>
    public int Pending { get { lock (_gate) return _pending.Count; } }

    public void Add(long id, ReadOnlySpan<float> vector)
    {
        if (vector.Length != Dimension) throw new ArgumentException($"expected {Dimension} values, got {vector.Length}", nameof(vector));
        // Only to ask whether the inner index holds the id (IVectorIndex has no Contains); 2 KiB at 512-d.
        Span<float> scratch = Dimension <= 4096 ? stackalloc float[Dimension] : new float[Dimension];
        lock (_gate)
        {
            while (_pending.Count >= _capacity) Monitor.Wait(_gate);
            if (_pending.TryGetRow(id, out _) || _inner.TryGetVector(id, scratch)) throw new ArgumentException($"id {id} is already in the index", nameof(id));
            _pending.Add(id, vector);
            _queue.Enqueue(id);
            _count++;
            Monitor.PulseAll(_gate);
        }
    }

    void Work()
    {
        var vector = new float[Dimension];
        while (true)
        {
            long id;
            lock (_gate)
            {
                while (_queue.Count == 0 && !_stopping) Monitor.Wait(_gate);
                if (_queue.Count == 0) return;
                id = _queue.Peek();
            }
            lock (_move)
            {
                bool present;
                lock (_gate)
                {
                    present = _pending.TryGetRow(id, out var row);
                    if (present) _pending.Row(row).CopyTo(vector);
                }
                if (present) _inner.Add(id, vector);  // meanwhile searches see it in the buffer (results are merged by id)
                lock (_gate)
                {
                    _queue.Dequeue();
                    _pending.Remove(id);
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    /// <summary>Waits until every added vector is in the inner index.</summary>
    public void Drain()
    {
        lock (_gate) while (_queue.Count > 0) Monitor.Wait(_gate);
    }

    public VectorNeighbor[] Search(ReadOnlySpan<float> query, int k, Func<long, bool>? filter = null) => Search(query, k, efSearch: 0, filter);

    /// <inheritdoc/>
    public VectorNeighbor[] Search(ReadOnlySpan<float> query, int k, int efSearch, Func<long, bool>? filter)
    {
        if (query.Length != Dimension) throw new ArgumentException($"expected {Dimension} values, got {query.Length}", nameof(query));
        if (k <= 0) return [];
        var buffered = ScanPending(query, float.PositiveInfinity, filter);
        var inner = efSearch > 0 ? _inner.Search(query, k, efSearch, filter) : _inner.Search(query, k, filter);
        if (buffered.Count == 0) return inner;
        var top = new TopK<float>(k);
        foreach (var h in Merge(inner, buffered)) if (top.Admits(h.Distance)) top.Offer(h.Id, h.Distance);
        return Array.ConvertAll(top.Drain(), h => new VectorNeighbor(h.Id, h.D));
    }

    public VectorNeighbor[] RangeSearch(ReadOnlySpan<float> query, float maxDistance, Func<long, bool>? filter = null)
    {
        if (query.Length != Dimension) throw new ArgumentException($"expected {Dimension} values, got {query.Length}", nameof(query));
        var buffered = ScanPending(query, maxDistance, filter);
        var inner = _inner.RangeSearch(query, maxDistance, filter);
        return buffered.Count == 0 ? inner : [.. Merge(inner, buffered).OrderBy(h => h.Id)];
    }

    /// <summary>The union by id (a vector moving to the inner index may be in both for an instant).</summary>
    static IEnumerable<VectorNeighbor> Merge(VectorNeighbor[] inner, List<VectorNeighbor> buffered)
    {
        var seen = new HashSet<long>(inner.Select(h => h.Id));
        return inner.Concat(buffered.Where(h => seen.Add(h.Id)));
    }

    List<VectorNeighbor> ScanPending(ReadOnlySpan<float> query, float maxDistance, Func<long, bool>? filter)
    {
        var hits = new List<VectorNeighbor>();
        lock (_gate)
        {
            var ids = _pending.RowIds;
            for (var i = 0; i < ids.Length; i++)
            {
                var d = 1 - System.Numerics.Tensors.TensorPrimitives.Dot(query, _pending.Row(i));
                if (d <= maxDistance && (filter is null || filter(ids[i]))) hits.Add(new VectorNeighbor(ids[i], d));
            }
        }
        return hits;
    }

    public int Remove(IEnumerable<long> ids)
    {
        lock (_move)   // not while the worker moves a vector: it would land in the inner index after its removal
        {
            var removed = 0;
            foreach (var id in ids)
            {
                bool wasPending;
                lock (_gate) wasPending = _pending.Remove(id);
                if (wasPending || _inner.Remove([id]) > 0)
                {
                    removed++;
                    lock (_gate) _count--;
                }
            }
            return removed;
        }
    }

    public bool TryGetVector(long id, Span<float> destination)
    {
        lock (_gate)
        {
            if (_pending.TryGetRow(id, out var row))
            {
                _pending.Row(row).CopyTo(destination);
                return true;
            }
        }
        return _inner.TryGetVector(id, destination);
    }

    public long[] Ids()
    {
        long[] pending;
        lock (_gate) pending = _pending.RowIds.ToArray();
        var all = _inner.Ids().Concat(pending).Distinct().ToArray();
        Array.Sort(all);
        return all;
    }

    /// <summary>Drains the buffer, then writes this format's magic and the inner index.</summary>
    public void Save(Stream stream)
    {
        Drain();
        stream.Write(Magic);
        _inner.Save(stream);
    }

    /// <summary>Reads what <see cref="Save"/> wrote: the inner index (any registered format), wrapped again.</summary>
    /// <exception cref="InvalidDataException">Not this format, or the inner index's own refusal.</exception>
    public static BufferedVectorIndex Load(Stream stream)
    {
        Span<byte> magic = stackalloc byte[4];
        if (stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4 || !magic.SequenceEqual(Magic)) throw new InvalidDataException("not a buffered vector index");
        return new BufferedVectorIndex(IndexFormats.LoadVector(stream));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        _worker.Join();
        (_inner as IDisposable)?.Dispose();
    }
}
