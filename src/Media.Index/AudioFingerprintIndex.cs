namespace Media.Index;

/// <summary>The best alignment of two Chromaprint fingerprints: similarity = 1 − bit error rate over the overlap.</summary>
/// <param name="Similarity">1 − (differing bits / compared bits), in [0, 1]; unrelated audio scores about 0.5.</param>
/// <param name="Offset">Items by which the second fingerprint is shifted (one item ≈ 0.124 s).</param>
/// <param name="Overlap">Items compared.</param>
public readonly record struct FingerprintMatch(double Similarity, int Offset, int Overlap);

/// <summary>
/// Chromaprint lookup without scanning every stored fingerprint: an inverted index from the top 20 bits of each
/// fingerprint item to the fingerprints containing it (the idea of AcoustID's index). A query counts, per stored
/// fingerprint, how many of its items have a key that fingerprint contains; only fingerprints with enough votes are
/// compared exactly by bit error rate at the best alignment.
/// <para>Limits: a copy distorted enough to change the top 20 bits of nearly every item (heavy noise, pitch or tempo
/// change) finds no candidates even when its bit error rate would pass; at 3% bit errors about half the items keep
/// their key, so transcodes find their original easily. Posting lists of very common keys (silence) grow with the
/// catalog; keys shared by more than 10% of a large index are skipped at query time.</para>
/// <para>Votes count every query item (not distinct keys), so steady sounds whose fingerprints repeat one value still
/// gather enough votes; at least 2, and at least 5% of the query's items, are needed to be compared.</para>
/// </summary>
public sealed class AudioFingerprintIndex
{
    const int KeyShift = 12;
    readonly List<(long Id, uint[] Fingerprint)> _entries = [];
    readonly HashSet<long> _ids = [];
    readonly Dictionary<uint, List<int>> _postings = [];
    readonly ReaderWriterLockSlim _lock = new();

    public int Count { get { _lock.EnterReadLock(); try { return _entries.Count; } finally { _lock.ExitReadLock(); } } }

    static ReadOnlySpan<byte> Magic => "MAFI"u8;

    /// <summary>Writes every fingerprint (magic, version 1, count, then id, length, items per entry).</summary>
    public void Save(Stream stream)
    {
        _lock.EnterReadLock();
        try
        {
            using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            w.Write(Magic);
            w.Write(1);
            w.Write(_entries.Count);
            foreach (var (id, fp) in _entries)
            {
                w.Write(id);
                w.Write(fp.Length);
                w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(fp.AsSpan()));
            }
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Reads an index written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">Not this index, or truncated.</exception>
    public static AudioFingerprintIndex Load(Stream stream)
    {
        using var r = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            if (!r.ReadBytes(4).AsSpan().SequenceEqual(Magic) || r.ReadInt32() != 1) throw new InvalidDataException("not a fingerprint index");
            var index = new AudioFingerprintIndex();
            var count = r.ReadInt32();
            if (count < 0) throw new InvalidDataException($"fingerprint index claims {count} entries");
            for (var i = 0; i < count; i++)
            {
                var id = r.ReadInt64();
                var length = r.ReadInt32();
                if (length is < 0 or > 1 << 24) throw new InvalidDataException($"fingerprint of {length} items");
                var fp = new uint[length];
                stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(fp.AsSpan()));
                index.Add(id, fp);
            }
            return index;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("fingerprint index is truncated", ex);
        }
    }

    /// <summary>Whether <paramref name="id"/> is indexed. O(1).</summary>
    public bool Contains(long id)
    {
        _lock.EnterReadLock();
        try { return _ids.Contains(id); }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Adds a raw fingerprint under <paramref name="id"/> (the catalog sequence).</summary>
    public void Add(long id, uint[] fingerprint)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_ids.Add(id)) throw new ArgumentException($"id {id} is already in the index", nameof(id));
            var index = _entries.Count;
            _entries.Add((id, fingerprint));
            foreach (var key in fingerprint.Select(v => v >> KeyShift).Distinct())
            {
                if (!_postings.TryGetValue(key, out var list)) _postings[key] = list = [];
                list.Add(index);
            }
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>
    /// Every indexed fingerprint whose best-alignment similarity to <paramref name="query"/> is at least
    /// <paramref name="minSimilarity"/>, in ascending id order (a range search: the caller picks the earliest).
    /// </summary>
    public List<(long Id, FingerprintMatch Match)> RangeSearch(uint[] query, double minSimilarity)
    {
        var hits = new List<(long, FingerprintMatch)>();
        if (query.Length == 0) return hits;
        _lock.EnterReadLock();
        try
        {
            // One vote per query item whose key a stored fingerprint contains (steady sounds repeat one key many times).
            var votes = new Dictionary<int, int>();
            var common = Math.Max(50, _entries.Count / 10);
            foreach (var item in query)
            {
                if (!_postings.TryGetValue(item >> KeyShift, out var list) || (list.Count > common && _entries.Count > 500)) continue;
                foreach (var e in list) votes[e] = votes.GetValueOrDefault(e) + 1;
            }
            var needed = Math.Max(2, (int)Math.Ceiling(0.05 * query.Length));
            foreach (var candidate in votes.Where(v => v.Value >= needed).Select(v => v.Key))
            {
                var (id, fp) = _entries[candidate];
                var match = FingerprintComparison.Compare(fp, query);
                if (match.Similarity >= minSimilarity) hits.Add((id, match));
            }
            hits.Sort((a, b) => a.Item1.CompareTo(b.Item1));
            return hits;
        }
        finally { _lock.ExitReadLock(); }
    }
}
