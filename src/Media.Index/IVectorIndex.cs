namespace Media.Index;

/// <summary>A vector search hit: the row's id and its cosine distance to the query (1 − cosine similarity, in [0, 2]).</summary>
public readonly record struct VectorNeighbor(long Id, float Distance)
{
    /// <summary>Cosine similarity, 1 − <see cref="Distance"/>.</summary>
    public float Similarity => 1 - Distance;
}

/// <summary>
/// A nearest-neighbour index over unit vectors of one dimension, by cosine distance (shaped after faiss's
/// <c>Index.h</c>: add, search, range_search, remove_ids, io). Rows are numbered by the caller: the catalog's
/// sequence, so "earliest" is "lowest id". Implementations are thread-safe: many concurrent readers, one writer.
/// </summary>
public interface IVectorIndex
{
    /// <summary>Vector length D.</summary>
    int Dimension { get; }

    /// <summary>Rows held (removed rows excluded).</summary>
    long Count { get; }

    /// <summary>Adds a unit vector of length D under <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentException">Wrong length, or <paramref name="id"/> is already present.</exception>
    void Add(long id, ReadOnlySpan<float> vector);

    /// <summary>The <paramref name="k"/> rows nearest to <paramref name="query"/>, nearest first (ties: lower id first), among ids <paramref name="filter"/> accepts.</summary>
    /// <exception cref="ArgumentException">Wrong query length.</exception>
    VectorNeighbor[] Search(ReadOnlySpan<float> query, int k, Func<long, bool>? filter = null);

    /// <summary>
    /// <see cref="Search(ReadOnlySpan{float}, int, Func{long, bool}?)"/> with a search parameter of approximate indexes
    /// (as faiss's <c>SearchParametersHNSW::efSearch</c>): the candidate list size of a graph walk (at least k is used),
    /// trading recall for time for one call. Exact indexes ignore it (the default).
    /// </summary>
    /// <exception cref="ArgumentException">Wrong query length.</exception>
    VectorNeighbor[] Search(ReadOnlySpan<float> query, int k, int efSearch, Func<long, bool>? filter) => Search(query, k, filter);

    /// <summary>Every row within cosine distance <paramref name="maxDistance"/> (inclusive) of <paramref name="query"/>, in ascending id order.</summary>
    /// <exception cref="ArgumentException">Wrong query length.</exception>
    VectorNeighbor[] RangeSearch(ReadOnlySpan<float> query, float maxDistance, Func<long, bool>? filter = null);

    /// <summary>Removes these ids (absent ones are ignored); returns how many were removed.</summary>
    int Remove(IEnumerable<long> ids);

    /// <summary>Copies the stored vector of <paramref name="id"/> into <paramref name="destination"/> (length D); false when absent.</summary>
    bool TryGetVector(long id, Span<float> destination);

    /// <summary>A snapshot of the ids held, ascending. O(N).</summary>
    long[] Ids();

    /// <summary>Writes the whole index to <paramref name="stream"/>; the implementation's <c>Load</c> reads it back.</summary>
    void Save(Stream stream);
}
