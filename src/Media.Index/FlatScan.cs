namespace Media.Index;

/// <summary>A distance between a query and a stored row of <typeparamref name="T"/>, for the flat indexes' scans.</summary>
interface IRowMetric<T, TDistance> where T : unmanaged
{
    static abstract TDistance Distance(ReadOnlySpan<T> query, ReadOnlySpan<T> row);
}

/// <summary>
/// The exhaustive scan behind <see cref="FlatVectorIndex"/> and <see cref="FlatBinaryIndex"/>: rows in a
/// <see cref="RowStore{T}"/> under a reader-writer lock, top-k by a size-k heap, range search by a full pass. The metric
/// is a type parameter, so the distance is inlined into the loop.
/// </summary>
sealed class FlatScan<T, TDistance, TMetric>(RowStore<T> rows)
    where T : unmanaged
    where TDistance : IComparable<TDistance>
    where TMetric : IRowMetric<T, TDistance>
{
    readonly ReaderWriterLockSlim _lock = new();

    public int Width => rows.Width;

    public long Count { get { _lock.EnterReadLock(); try { return rows.Count; } finally { _lock.ExitReadLock(); } } }

    public void Add(long id, ReadOnlySpan<T> row)
    {
        _lock.EnterWriteLock();
        try { rows.Add(id, row); }
        finally { _lock.ExitWriteLock(); }
    }

    public (long Id, TDistance D)[] Search(ReadOnlySpan<T> query, int k, Func<long, bool>? filter)
    {
        if (k <= 0) return [];
        var top = new TopK<TDistance>(k);
        _lock.EnterReadLock();
        try
        {
            var ids = rows.RowIds;
            for (var i = 0; i < ids.Length; i++)
            {
                var d = TMetric.Distance(query, rows.Row(i));
                if (!top.Admits(d) || (filter is not null && !filter(ids[i]))) continue;
                top.Offer(ids[i], d);
            }
        }
        finally { _lock.ExitReadLock(); }
        return top.Drain();
    }

    public List<(long Id, TDistance D)> RangeSearch(ReadOnlySpan<T> query, TDistance max, Func<long, bool>? filter)
    {
        var hits = new List<(long Id, TDistance D)>();
        _lock.EnterReadLock();
        try
        {
            var ids = rows.RowIds;
            for (var i = 0; i < ids.Length; i++)
            {
                var d = TMetric.Distance(query, rows.Row(i));
                if (d.CompareTo(max) <= 0 && (filter is null || filter(ids[i]))) hits.Add((ids[i], d));
            }
        }
        finally { _lock.ExitReadLock(); }
        hits.Sort((a, b) => a.Id.CompareTo(b.Id));
        return hits;
    }

    public int Remove(IEnumerable<long> ids)
    {
        _lock.EnterWriteLock();
        try { return ids.Count(rows.Remove); }
        finally { _lock.ExitWriteLock(); }
    }

    public bool TryGetRow(long id, Span<T> destination)
    {
        _lock.EnterReadLock();
        try
        {
            if (!rows.TryGetRow(id, out var row)) return false;
            rows.Row(row).CopyTo(destination);
            return true;
        }
        finally { _lock.ExitReadLock(); }
    }

    public long[] Ids()
    {
        long[] ids;
        _lock.EnterReadLock();
        try { ids = rows.RowIds.ToArray(); }
        finally { _lock.ExitReadLock(); }
        Array.Sort(ids);
        return ids;
    }

    public void Save(Stream stream, ReadOnlySpan<byte> magic)
    {
        _lock.EnterReadLock();
        try { rows.Save(stream, magic); }
        finally { _lock.ExitReadLock(); }
    }
}
