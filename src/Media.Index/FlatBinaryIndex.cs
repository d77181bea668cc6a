using System.Numerics;
using System.Runtime.InteropServices;

namespace Media.Index;

/// <summary>
/// Exact Hamming search by linear scan (faiss's <c>IndexBinaryFlat</c>): codes stored as 64-bit words, distance =
/// popcount of XOR, O(N·bits/64) per query. Thread-safe: many readers, one writer.
/// </summary>
public sealed class FlatBinaryIndex : IBinaryIndex
{
    struct HammingDistance : IRowMetric<ulong, int>
    {
        public static int Distance(ReadOnlySpan<ulong> query, ReadOnlySpan<ulong> row) => Hamming(query, row);
    }

    static ReadOnlySpan<byte> Magic => "MFBI"u8;
    readonly FlatScan<ulong, int, HammingDistance> _scan;

    /// <param name="bits">Code length, a positive multiple of 64 (256 for PDQ).</param>
    public FlatBinaryIndex(int bits) : this(new RowStore<ulong>(bits > 0 && bits % 64 == 0 ? bits / 64
        : throw new ArgumentException($"code length must be a positive multiple of 64 bits, got {bits}", nameof(bits)))) { }

    FlatBinaryIndex(RowStore<ulong> rows) => _scan = new(rows);

    public int Bits => _scan.Width * 64;
    public long Count => _scan.Count;

    public void Add(long id, ReadOnlySpan<byte> code) => _scan.Add(id, Words(code));

    public BinaryNeighbor[] Search(ReadOnlySpan<byte> query, int k, Func<long, bool>? filter = null) =>
        Array.ConvertAll(_scan.Search(Words(query), k, filter), h => new BinaryNeighbor(h.Id, h.D));

    public BinaryNeighbor[] RangeSearch(ReadOnlySpan<byte> query, int maxDistance, Func<long, bool>? filter = null) =>
        [.. _scan.RangeSearch(Words(query), maxDistance, filter).Select(h => new BinaryNeighbor(h.Id, h.D))];

    public int Remove(IEnumerable<long> ids) => _scan.Remove(ids);

    public void Save(Stream stream) => _scan.Save(stream, Magic);

    /// <summary>Reads an index written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">Not a flat binary index, or truncated.</exception>
    public static FlatBinaryIndex Load(Stream stream) => new(RowStore<ulong>.Load(stream, Magic));

    /// <summary>Differing bits between two codes of equal length.</summary>
    public static int Hamming(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        var d = 0;
        for (var i = 0; i < a.Length; i++) d += BitOperations.PopCount(a[i] ^ b[i]);
        return d;
    }

    ReadOnlySpan<ulong> Words(ReadOnlySpan<byte> code) =>
        code.Length * 8 == Bits ? MemoryMarshal.Cast<byte, ulong>(code)
            : throw new ArgumentException($"expected a {Bits}-bit code ({Bits / 8} bytes), got {code.Length} bytes", nameof(code));
}
