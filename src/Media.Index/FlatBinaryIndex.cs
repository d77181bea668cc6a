using System.Numerics;
using System.Runtime.InteropServices;

namespace Media.Index;

/// <summary>
/// Exact Hamming search by linear scan (faiss's <c>IndexBinaryFlat</c>): codes stored as 64-bit words, distance =
/// popcount of XOR, O(N·bits/64) per query. Thread-safe: many readers, one writer.
/// </summary>
public sealed class FlatBinaryIndex : IBinaryIndex
{
    static ReadOnlySpan<byte> Magic => "MFBI"u8;
    readonly ReaderWriterLockSlim _lock = new();
    RowStore<ulong> _rows;

    /// <param name="bits">Code length, a positive multiple of 64 (256 for PDQ).</param>
    public FlatBinaryIndex(int bits)
    {
        if (bits <= 0 || bits % 64 != 0) throw new ArgumentException($"code length must be a positive multiple of 64 bits, got {bits}", nameof(bits));
        Bits = bits;
        _rows = new RowStore<ulong>(bits / 64);
    }

    public int Bits { get; }
    public long Count { get { _lock.EnterReadLock(); try { return _rows.Count; } finally { _lock.ExitReadLock(); } } }

    public void Add(long id, ReadOnlySpan<byte> code)
    {
        var words = Words(code);
        _lock.EnterWriteLock();
        try { _rows.Add(id, words); }
        finally { _lock.ExitWriteLock(); }
    }

    public BinaryNeighbor[] Search(ReadOnlySpan<byte> query, int k, Func<long, bool>? filter = null)
    {
        var q = Words(query);
        if (k <= 0) return [];
        var top = new TopK<int>(k);
        _lock.EnterReadLock();
        try
        {
            var ids = _rows.RowIds;
            for (var i = 0; i < ids.Length; i++)
            {
                var d = Hamming(q, _rows.Row(i));
                if (!top.Admits(d) || (filter is not null && !filter(ids[i]))) continue;
                top.Offer(ids[i], d);
            }
        }
        finally { _lock.ExitReadLock(); }
        return Array.ConvertAll(top.Drain(), h => new BinaryNeighbor(h.Id, h.D));
    }

    public BinaryNeighbor[] RangeSearch(ReadOnlySpan<byte> query, int maxDistance, Func<long, bool>? filter = null)
    {
        var q = Words(query);
        var hits = new List<BinaryNeighbor>();
        _lock.EnterReadLock();
        try
        {
            var ids = _rows.RowIds;
            for (var i = 0; i < ids.Length; i++)
            {
                var d = Hamming(q, _rows.Row(i));
                if (d <= maxDistance && (filter is null || filter(ids[i]))) hits.Add(new BinaryNeighbor(ids[i], d));
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

    public void Save(Stream stream)
    {
        _lock.EnterReadLock();
        try { _rows.Save(stream, Magic); }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Reads an index written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">Not a flat binary index, or truncated.</exception>
    public static FlatBinaryIndex Load(Stream stream)
    {
        var rows = RowStore<ulong>.Load(stream, Magic);
        return new FlatBinaryIndex(rows.Width * 64) { _rows = rows };
    }

    /// <summary>Differing bits between two codes of equal length.</summary>
    public static int Hamming(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        var d = 0;
        for (var i = 0; i < a.Length; i++) d += BitOperations.PopCount(a[i] ^ b[i]);
        return d;
    }

    ReadOnlySpan<ulong> Words(ReadOnlySpan<byte> code)
    {
        if (code.Length * 8 != Bits) throw new ArgumentException($"expected a {Bits}-bit code ({Bits / 8} bytes), got {code.Length} bytes", nameof(code));
        return MemoryMarshal.Cast<byte, ulong>(code);
    }
}
