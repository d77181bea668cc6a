using System.Runtime.InteropServices;

namespace Media.Index;

/// <summary>
/// Fixed-width rows of <typeparamref name="T"/> in one contiguous array, each under a caller's id, with O(1) add, lookup
/// and remove (the last row moves into the hole). The storage of the flat indexes. Not thread-safe: owners lock.
/// </summary>
sealed class RowStore<T>(int width) where T : unmanaged
{
    T[] _rows = new T[width * 1024];
    long[] _ids = new long[1024];
    readonly Dictionary<long, int> _rowOf = [];

    public int Width { get; } = width;
    public int Count { get; private set; }
    public ReadOnlySpan<T> Rows => _rows.AsSpan(0, Count * Width);
    public ReadOnlySpan<long> RowIds => _ids.AsSpan(0, Count);
    public ReadOnlySpan<T> Row(int row) => _rows.AsSpan(row * Width, Width);
    public bool TryGetRow(long id, out int row) => _rowOf.TryGetValue(id, out row);

    public void Add(long id, ReadOnlySpan<T> values)
    {
        if (values.Length != Width) throw new ArgumentException($"expected {Width} values, got {values.Length}", nameof(values));
        if (_rowOf.ContainsKey(id)) throw new ArgumentException($"id {id} is already in the index", nameof(id));
        if (Count == _ids.Length)
        {
            Array.Resize(ref _ids, _ids.Length * 2);
            Array.Resize(ref _rows, _ids.Length * Width);
        }
        values.CopyTo(_rows.AsSpan(Count * Width, Width));
        _ids[Count] = id;
        _rowOf[id] = Count++;
    }

    public bool Remove(long id)
    {
        if (!_rowOf.Remove(id, out var row)) return false;
        var last = --Count;
        if (row != last)
        {
            _rows.AsSpan(last * Width, Width).CopyTo(_rows.AsSpan(row * Width, Width));
            _ids[row] = _ids[last];
            _rowOf[_ids[row]] = row;
        }
        return true;
    }

    /// <summary>Writes magic, format version 1, width, count, ids, rows (little-endian, as in memory).</summary>
    public void Save(Stream stream, ReadOnlySpan<byte> magic)
    {
        using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        w.Write(magic);
        w.Write(1);
        w.Write(Width);
        w.Write((long)Count);
        w.Write(MemoryMarshal.AsBytes(RowIds));
        w.Write(MemoryMarshal.AsBytes(Rows));
    }

    /// <exception cref="InvalidDataException">Not this kind of index, another width, or truncated.</exception>
    public static RowStore<T> Load(Stream stream, ReadOnlySpan<byte> magic, int? expectedWidth = null)
    {
        using var r = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            if (!r.ReadBytes(magic.Length).AsSpan().SequenceEqual(magic)) throw new InvalidDataException("not an index of this kind");
            if (r.ReadInt32() is var version && version != 1) throw new InvalidDataException($"index format version {version} is unknown");
            var width = r.ReadInt32();
            if (width <= 0 || (expectedWidth is { } e && e != width)) throw new InvalidDataException($"index rows have width {width}");
            var count = r.ReadInt64();
            if (count < 0 || count > int.MaxValue / width) throw new InvalidDataException($"index claims {count} rows");
            var store = new RowStore<T>(width);
            var ids = new long[count];
            stream.ReadExactly(MemoryMarshal.AsBytes(ids.AsSpan()));
            var rows = new T[count * width];
            stream.ReadExactly(MemoryMarshal.AsBytes(rows.AsSpan()));
            for (var i = 0; i < count; i++) store.Add(ids[i], rows.AsSpan(i * width, width));
            return store;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("index is truncated", ex);
        }
    }
}

/// <summary>Keeps the <c>k</c> best (smallest distance, then lowest id) of a stream of candidates.</summary>
struct TopK<TDistance>(int k) where TDistance : IComparable<TDistance>
{
    sealed class WorstFirst : IComparer<(TDistance D, long Id)>
    {
        public static readonly WorstFirst Instance = new();
        public int Compare((TDistance D, long Id) a, (TDistance D, long Id) b)
        {
            var c = b.D.CompareTo(a.D);
            return c != 0 ? c : b.Id.CompareTo(a.Id);
        }
    }

    readonly PriorityQueue<long, (TDistance D, long Id)> _heap = new(k + 1, WorstFirst.Instance);

    /// <summary>Whether a candidate at this distance could still enter (cheap pre-check before a filter).</summary>
    public readonly bool Admits(TDistance d) => _heap.Count < k || (_heap.TryPeek(out _, out var worst) && d.CompareTo(worst.D) <= 0);

    public readonly void Offer(long id, TDistance d)
    {
        if (k <= 0) return;
        _heap.Enqueue(id, (d, id));
        if (_heap.Count > k) _heap.Dequeue();
    }

    /// <summary>The kept candidates, best first.</summary>
    public readonly (long Id, TDistance D)[] Drain()
    {
        var result = new (long, TDistance)[_heap.Count];
        for (var i = result.Length - 1; i >= 0; i--)
        {
            _heap.TryDequeue(out var id, out var p);
            result[i] = (id, p.D);
        }
        return result;
    }
}
