using System.Numerics.Tensors;

namespace Media.Index;

/// <summary>
/// Exact cosine search (faiss's <c>IndexFlatIP</c> on unit vectors) over one contiguous row-major matrix
/// <c>[N, D]</c>: a query is N SIMD dot products (<see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>)
/// and a size-k heap, O(N·D + N·log k); recall is 1 by construction. Thread-safe: many readers, one writer.
/// </summary>
public sealed class FlatVectorIndex(int dimension) : IVectorIndex
{
    static ReadOnlySpan<byte> Magic => "MFVI"u8;
    readonly ReaderWriterLockSlim _lock = new();
    RowStore<float> _rows = new(dimension);

    public int Dimension { get; } = dimension;
    public long Count { get { _lock.EnterReadLock(); try { return _rows.Count; } finally { _lock.ExitReadLock(); } } }

    public void Add(long id, ReadOnlySpan<float> vector)
    {
        _lock.EnterWriteLock();
        try { _rows.Add(id, vector); }
        finally { _lock.ExitWriteLock(); }
    }

    public VectorNeighbor[] Search(ReadOnlySpan<float> query, int k, Func<long, bool>? filter = null)
    {
        CheckQuery(query);
        if (k <= 0) return [];
        var top = new TopK<float>(k);
        _lock.EnterReadLock();
        try
        {
            var ids = _rows.RowIds;
            for (var i = 0; i < ids.Length; i++)
            {
                var d = 1 - TensorPrimitives.Dot(query, _rows.Row(i));
                if (!top.Admits(d) || (filter is not null && !filter(ids[i]))) continue;
                top.Offer(ids[i], d);
            }
        }
        finally { _lock.ExitReadLock(); }
        return Array.ConvertAll(top.Drain(), h => new VectorNeighbor(h.Id, h.D));
    }

    public VectorNeighbor[] RangeSearch(ReadOnlySpan<float> query, float maxDistance, Func<long, bool>? filter = null)
    {
        CheckQuery(query);
        var hits = new List<VectorNeighbor>();
        _lock.EnterReadLock();
        try
        {
            var ids = _rows.RowIds;
            for (var i = 0; i < ids.Length; i++)
            {
                var d = 1 - TensorPrimitives.Dot(query, _rows.Row(i));
                if (d <= maxDistance && (filter is null || filter(ids[i]))) hits.Add(new VectorNeighbor(ids[i], d));
            }
        }
        finally { _lock.ExitReadLock(); }
        hits.Sort((a, b) => a.Id.CompareTo(b.Id));
        return [.. hits];
    }

    public int Remove(IEnumerable<long> ids)
    {
        _lock.EnterWriteLock();
        try { return ids.Count(_rows.Remove); }
        finally { _lock.ExitWriteLock(); }
    }

    public bool TryGetVector(long id, Span<float> destination)
    {
        _lock.EnterReadLock();
        try
        {
            if (!_rows.TryGetRow(id, out var row)) return false;
            _rows.Row(row).CopyTo(destination);
            return true;
        }
        finally { _lock.ExitReadLock(); }
    }

    public long[] Ids()
    {
        _lock.EnterReadLock();
        long[] ids;
        try { ids = _rows.RowIds.ToArray(); }
        finally { _lock.ExitReadLock(); }
        Array.Sort(ids);
        return ids;
    }

    public void Save(Stream stream)
    {
        _lock.EnterReadLock();
        try { _rows.Save(stream, Magic); }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Reads an index written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">Not a flat vector index, or truncated.</exception>
    public static FlatVectorIndex Load(Stream stream)
    {
        var rows = RowStore<float>.Load(stream, Magic);
        return new FlatVectorIndex(rows.Width) { _rows = rows };
    }

    void CheckQuery(ReadOnlySpan<float> query)
    {
        if (query.Length != Dimension) throw new ArgumentException($"expected {Dimension} values, got {query.Length}", nameof(query));
    }
}
