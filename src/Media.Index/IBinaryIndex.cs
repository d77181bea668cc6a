namespace Media.Index;

/// <summary>A binary-code search hit: the row's id and its Hamming distance (differing bits) to the query.</summary>
public readonly record struct BinaryNeighbor(long Id, int Distance);

/// <summary>
/// A nearest-neighbour index over fixed-length binary codes by Hamming distance (shaped after faiss's
/// <c>IndexBinary.h</c>), for perceptual hashes such as PDQ (256 bits). Rows are numbered by the caller (the catalog
/// sequence). Implementations are thread-safe: many concurrent readers, one writer.
/// </summary>
public interface IBinaryIndex
{
    /// <summary>Code length in bits (a multiple of 64).</summary>
    int Bits { get; }

    /// <summary>Rows held.</summary>
    long Count { get; }

    /// <summary>Adds a code of <see cref="Bits"/>/8 bytes under <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentException">Wrong length, or <paramref name="id"/> is already present.</exception>
    void Add(long id, ReadOnlySpan<byte> code);

    /// <summary>The <paramref name="k"/> codes nearest to <paramref name="query"/>, nearest first (ties: lower id first), among ids <paramref name="filter"/> accepts.</summary>
    BinaryNeighbor[] Search(ReadOnlySpan<byte> query, int k, Func<long, bool>? filter = null);

    /// <summary>Every code within <paramref name="maxDistance"/> bits (inclusive) of <paramref name="query"/>, in ascending id order.</summary>
    BinaryNeighbor[] RangeSearch(ReadOnlySpan<byte> query, int maxDistance, Func<long, bool>? filter = null);

    /// <summary>
    /// Range search for n queries at once (faiss's <c>range_search</c> over n queries): <paramref name="queries"/> holds
    /// n codes of <see cref="Bits"/>/8 bytes back to back; result i holds every code within <paramref name="maxDistance"/>
    /// bits of query i, in ascending id order, as <see cref="RangeSearch"/> would return it. Implementations share what
    /// the queries have in common (a lock, a pass over rows not yet in tables); this default asks one query at a time.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="queries"/> is not a whole number of codes.</exception>
    BinaryNeighbor[][] RangeSearchBatch(ReadOnlySpan<byte> queries, int maxDistance, Func<long, bool>? filter = null)
    {
        var size = Bits / 8;
        if (queries.Length % size != 0) throw new ArgumentException($"expected whole {Bits}-bit codes ({size} bytes each), got {queries.Length} bytes", nameof(queries));
        var results = new BinaryNeighbor[queries.Length / size][];
        for (var i = 0; i < results.Length; i++) results[i] = RangeSearch(queries.Slice(i * size, size), maxDistance, filter);
        return results;
    }

    /// <summary>Removes these ids (absent ones are ignored); returns how many were removed.</summary>
    int Remove(IEnumerable<long> ids);

    /// <summary>Writes the whole index to <paramref name="stream"/>; the implementation's <c>Load</c> reads it back.</summary>
    void Save(Stream stream);
}
