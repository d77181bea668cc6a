using System.Numerics.Tensors;

namespace Media.Index;

/// <summary>A search hit: the row's id and its cosine similarity to the query.</summary>
public readonly record struct VectorHit(string Id, float Similarity);

/// <summary>
/// Exact (brute-force) cosine search over one contiguous row-major matrix of unit vectors <c>[N, D]</c>:
/// similarity is a dot product (<see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>, SIMD),
/// the top k kept in a size-k min-heap, so a query costs O(N·D + N·log k). Recall@k is 1 by construction;
/// at 512 dimensions one core scans about a million vectors in well under a second. Thread-safe: many readers, one writer.
/// </summary>
public sealed class VectorIndex(int dimension)
{
    readonly ReaderWriterLockSlim _lock = new();
    float[] _matrix = new float[dimension * 1024];
    readonly List<string> _ids = [];

    /// <summary>Vector length D.</summary>
    public int Dimension { get; } = dimension;
    /// <summary>Rows N.</summary>
    public int Count { get { _lock.EnterReadLock(); try { return _ids.Count; } finally { _lock.ExitReadLock(); } } }

    /// <summary>Appends a unit vector of length D.</summary>
    /// <exception cref="ArgumentException">Wrong length.</exception>
    public void Add(string id, ReadOnlySpan<float> vector)
    {
        if (vector.Length != Dimension) throw new ArgumentException($"expected {Dimension} values, got {vector.Length}", nameof(vector));
        _lock.EnterWriteLock();
        try
        {
            var n = _ids.Count;
            if ((n + 1) * Dimension > _matrix.Length) Array.Resize(ref _matrix, Math.Max(_matrix.Length * 2, (n + 1) * Dimension));
            vector.CopyTo(_matrix.AsSpan(n * Dimension, Dimension));
            _ids.Add(id);
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>A copy of row <paramref name="row"/> and its id (rows are numbered in insertion order).</summary>
    public (string Id, float[] Vector) Row(int row)
    {
        _lock.EnterReadLock();
        try { return (_ids[row], _matrix.AsSpan(row * Dimension, Dimension).ToArray()); }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>The ids of all rows, in row order (a copy; no vectors are copied).</summary>
    public string[] Ids()
    {
        _lock.EnterReadLock();
        try { return [.. _ids]; }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>The row of <paramref name="id"/>, or −1.</summary>
    public int RowOf(string id)
    {
        _lock.EnterReadLock();
        try { return _ids.IndexOf(id); }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>The earliest added row whose cosine similarity to <paramref name="query"/> is at least <paramref name="minSimilarity"/>, or null.</summary>
    public VectorHit? FirstWithin(ReadOnlySpan<float> query, float minSimilarity)
    {
        if (query.Length != Dimension) throw new ArgumentException($"expected {Dimension} values, got {query.Length}", nameof(query));
        _lock.EnterReadLock();
        try
        {
            var m = _matrix.AsSpan(0, _ids.Count * Dimension);
            for (var i = 0; i < _ids.Count; i++)
            {
                var s = TensorPrimitives.Dot(query, m.Slice(i * Dimension, Dimension));
                if (s >= minSimilarity) return new VectorHit(_ids[i], s);
            }
            return null;
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>The <paramref name="k"/> rows most similar to <paramref name="query"/>, best first, optionally filtered by id.</summary>
    public VectorHit[] Search(ReadOnlySpan<float> query, int k, Func<string, bool>? filter = null)
    {
        if (query.Length != Dimension) throw new ArgumentException($"expected {Dimension} values, got {query.Length}", nameof(query));
        if (k <= 0) return [];
        var heap = new PriorityQueue<int, float>(k + 1);
        _lock.EnterReadLock();
        try
        {
            var n = _ids.Count;
            var m = _matrix.AsSpan(0, n * Dimension);
            for (var i = 0; i < n; i++)
            {
                var s = TensorPrimitives.Dot(query, m.Slice(i * Dimension, Dimension));
                if (heap.Count == k && heap.TryPeek(out _, out var worst) && s <= worst) continue;
                if (filter is not null && !filter(_ids[i])) continue;
                heap.Enqueue(i, s);
                if (heap.Count > k) heap.Dequeue();
            }
            var hits = new VectorHit[heap.Count];
            for (var j = hits.Length - 1; j >= 0; j--)
            {
                heap.TryDequeue(out var row, out var sim);
                hits[j] = new VectorHit(_ids[row], sim);
            }
            return hits;
        }
        finally { _lock.ExitReadLock(); }
    }
}
