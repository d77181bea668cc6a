using Media.Embeddings.Hashing;

namespace Media.Index;

/// <summary>The nearest indexed PDQ hash to a query (over all of the query's dihedral variants).</summary>
public readonly record struct PdqMatch(string Id, int Distance, Dihedral Variant);

/// <summary>
/// PDQ search by Hamming distance (XOR + popcount over four 64-bit words) by linear scan over contiguous arrays.
/// A query checks every indexed hash against each of its dihedral variants: 8·N popcount-quads, a few
/// milliseconds per million hashes on one core. Beyond ~10⁷ hashes a multi-index hashing scheme would be needed
/// (not implemented). Thread-safe: many readers, one writer.
/// </summary>
public sealed class PdqIndex
{
    readonly ReaderWriterLockSlim _lock = new();
    readonly List<PdqHash> _hashes = [];
    readonly List<int> _quality = [];
    readonly List<string> _ids = [];

    public int Count { get { _lock.EnterReadLock(); try { return _ids.Count; } finally { _lock.ExitReadLock(); } } }

    public void Add(string id, PdqHash hash, int quality)
    {
        _lock.EnterWriteLock();
        try { _ids.Add(id); _hashes.Add(hash); _quality.Add(quality); }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>
    /// The earliest indexed hash with quality ≥ <paramref name="minQuality"/> within <paramref name="maxDistance"/> of any of
    /// <paramref name="variants"/> (index = <see cref="Dihedral"/>), with its smallest distance over the variants; null when none.
    /// Earliest, not nearest: the first item indexed is the original that later copies are reported against.
    /// </summary>
    public PdqMatch? FirstWithin(IReadOnlyList<PdqHash> variants, int maxDistance, int minQuality)
    {
        _lock.EnterReadLock();
        try
        {
            for (var i = 0; i < _hashes.Count; i++)
            {
                if (_quality[i] < minQuality) continue;
                var h = _hashes[i];
                PdqMatch? best = null;
                for (var v = 0; v < variants.Count; v++)
                {
                    var d = h.HammingDistance(variants[v]);
                    if (d <= maxDistance && (best is null || d < best.Value.Distance)) best = new PdqMatch(_ids[i], d, (Dihedral)v);
                }
                if (best is not null) return best;
            }
            return null;
        }
        finally { _lock.ExitReadLock(); }
    }
}
