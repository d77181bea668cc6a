using System.Numerics.Tensors;

namespace Media.Index;

/// <summary>
/// Exact cosine search (faiss's <c>IndexFlatIP</c> on unit vectors) over one contiguous row-major matrix
/// <c>[N, D]</c>: a query is N SIMD dot products (<see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>)
/// and a size-k heap, O(N·D + N·log k); recall is 1 by construction. Thread-safe: many readers, one writer.
/// </summary>
public sealed class FlatVectorIndex : IVectorIndex
{
    struct CosineDistance : IRowMetric<float, float>
    {
        public static float Distance(ReadOnlySpan<float> query, ReadOnlySpan<float> row) => 1 - TensorPrimitives.Dot(query, row);
    }

    static ReadOnlySpan<byte> Magic => "MFVI"u8;
    readonly FlatScan<float, float, CosineDistance> _scan;

    public FlatVectorIndex(int dimension) : this(new RowStore<float>(dimension)) { }

    FlatVectorIndex(RowStore<float> rows) => _scan = new(rows);

    public int Dimension => _scan.Width;
    public long Count => _scan.Count;

    public void Add(long id, ReadOnlySpan<float> vector) => _scan.Add(id, vector);

    public VectorNeighbor[] Search(ReadOnlySpan<float> query, int k, Func<long, bool>? filter = null) =>
        Array.ConvertAll(_scan.Search(CheckQuery(query), k, filter), h => new VectorNeighbor(h.Id, h.D));

    public VectorNeighbor[] RangeSearch(ReadOnlySpan<float> query, float maxDistance, Func<long, bool>? filter = null) =>
        [.. _scan.RangeSearch(CheckQuery(query), maxDistance, filter).Select(h => new VectorNeighbor(h.Id, h.D))];

    public int Remove(IEnumerable<long> ids) => _scan.Remove(ids);

    public bool TryGetVector(long id, Span<float> destination) => _scan.TryGetRow(id, destination);

    public long[] Ids() => _scan.Ids();

    public void Save(Stream stream) => _scan.Save(stream, Magic);

    /// <summary>Reads an index written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">Not a flat vector index, or truncated.</exception>
    public static FlatVectorIndex Load(Stream stream) => new(RowStore<float>.Load(stream, Magic));

    ReadOnlySpan<float> CheckQuery(ReadOnlySpan<float> query) =>
        query.Length == Dimension ? query : throw new ArgumentException($"expected {Dimension} values, got {query.Length}", nameof(query));
}
