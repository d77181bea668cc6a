using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Media.Index;

/// <summary>What one query cost: substring values looked up, candidate rows verified, and whether it scanned every row instead.</summary>
readonly record struct MihQueryStats(int Probes, long Candidates, bool Linear);

/// <summary>
/// Exact Hamming search by multi-index hashing (Norouzi, Punjani &amp; Fleet, "Fast Search in Hamming Space with
/// Multi-Index Hashing", CVPR 2012; the scheme of ThreatExchange's <c>pdq/cpp/index/mih.h</c>). A code of
/// <see cref="Bits"/> bits is cut into m = Bits/16 disjoint 16-bit substrings (16 for PDQ's 256 bits), and each
/// substring position has a table from substring value to the rows holding it. By the pigeonhole principle a code
/// within r bits of the query has some substring within ⌊r/m⌋ bits of the query's; more precisely, with
/// r = m·s + a (0 ≤ a &lt; m), some substring among the first a + 1 is within s bits, or one of the others within
/// s − 1. A range search looks up every substring value within those radii (for PDQ at r = 31: the value and its
/// 16 one-bit flips in each of the 16 positions, 272 look-ups) and verifies each row found by its full distance, so
/// results are exactly a linear scan's.
/// <para>Look-ups grow as Σᵢ₌₀ˢ C(16, i) per position (17, 137, 697, 2517 for s = 1…4) and the rows they return
/// with N/65,536 per look-up, so before probing a query counts the rows its look-ups would return (one read of
/// the offset table each) and scans linearly instead when that would cost more than reading every row; see
/// <c>docs/mih-measurement.md</c> for where that falls (for random PDQ hashes, at 10⁵ and 10⁶ alike, between
/// r = 47, probed, and r = 63, scanned). A range query first rejects candidates by the 128-bit fold kept in each table
/// entry (a lower bound of their distance, read in sequence), then verifies the rest with their codes prefetched a few
/// rows ahead, since each is a cache miss at 10⁶.</para>
/// <para>Memory: codes in one contiguous <c>ulong</c> array and ids in one <c>long</c> array, indexed by row;
/// each position's table is CSR-shaped: 65,537 offsets into one array of entries sorted by substring value, each the
/// row number and the row's code folded to 128 bits (20 bytes per row per position), held in native memory that grows
/// in place (<see cref="NativeBuffer{T}"/>), so the tables leave no garbage behind as they grow. For 256-bit codes that is
/// 32 + 8 + 16·20 = 360 bytes per hash plus a fixed 4 MiB of offsets (about 375 bytes per hash at 10⁶ with the arrays'
/// growth room). While ids arrive in increasing order (catalog sequences) they are found by binary search;
/// the first out-of-order id adds a dictionary (about 30 bytes more per hash).</para>
/// <para>Rows added since the tables were built (the tail) and rows removed since (tombstones) are handled by
/// the query itself (the tail is scanned linearly, tombstones are skipped). Each table takes in its tail about every
/// B = max(tailLimit, min(N/64, 4096)) rows, merged in place (a sort of the tail and one sequential pass over the
/// table, ≈ 4 ms at 10⁶), one table per query and one every B/m rows, so no query pays for more than one; the first
/// query after tombstones outgrow max(tailLimit, N/8) drops them and rebuilds every table (a counting sort, O(N·m),
/// hundreds of milliseconds at 10⁶). Indexes smaller than <c>tailLimit</c> are
/// therefore plain linear scans. Thread-safe: many readers, one writer (a merge or rebuild takes the write lock).</para>
/// </summary>
public sealed class MultiIndexHashing : IBinaryIndex
{
    /// <summary>Bits per substring; each position's table has 2^16 values.</summary>
    public const int SubstringBits = 16;
    /// <summary>Default tail limit: below this many rows no tables are built.</summary>
    public const int DefaultTailLimit = 1024;

    const int Values = 1 << SubstringBits;
    const int FormatVersion = 1;
    // Relative costs in units of one row of a linear scan (sequential popcount of a whole code), measured by
    // `Media.Benchmarks mih` at 10⁶ hashes: an offset-table look-up and a random-access verification.
    const double ProbeCost = 2, CandidateCost = 10;
    const int PrefetchAhead = 16;
    /// <summary>Buckets ahead of the one being read whose entries a range query asks to be brought into cache.</summary>
    const int BucketsAhead = 8;
    /// <summary>The most tail rows a query scans before they are merged into the tables.</summary>
    const int MaxMergedTail = 4096;

    static ReadOnlySpan<byte> Magic => "MMIH"u8;

    /// <summary>All 2^16 flip masks ordered by weight; those of weight w are at [<see cref="WeightStart"/>[w], [w + 1]).</summary>
    static readonly ushort[] MasksByWeight = BuildMasks(out WeightStart);
    static readonly int[] WeightStart;

    readonly ReaderWriterLockSlim _lock = new();
    readonly int _words, _positions, _tailLimit;

    ulong[] _codes;
    long[] _ids;
    ulong[] _dead;
    int _rows, _deadRows;
    /// <summary>The lowest of <see cref="_indexedAt"/>: rows from here on are scanned linearly by every query (rows
    /// below it are in every table; a table entry at or past it is skipped, the scan covers it).</summary>
    int _indexed;
    /// <summary>Per position, the rows [0, this) its table holds; tails are merged one position at a time.</summary>
    int[] _indexedAt;
    /// <summary>Rows when the last tail merge ran (merges are spaced, see <see cref="NextMerge"/>).</summary>
    int _lastMerge;
    Dictionary<long, int>? _rowOf; // null while _ids is strictly increasing: then rows are found by binary search
    int[][]? _offsets;
    /// <summary>Per position, the table's entries (native: see <see cref="NativeBuffer{T}"/>; resized under the write lock).</summary>
    NativeBuffer<Posting>[]? _postings;

    /// <summary>
    /// A table entry: the row, and its code folded to 128 bits (the XOR of its even words and of its odd words).
    /// Hamming distance between folds is a lower bound of the distance between codes (popcount(a ⊕ b) ≤ popcount(a) +
    /// popcount(b)), so a range query rejects from the table entry itself, read in sequence with its neighbours in the
    /// bucket, every row whose fold is already too far, and fetches the full code only for the rest. For unrelated
    /// 256-bit codes the folds are about 64 bits apart, so at radius 31 almost no candidate needs its code: at 10⁶ rows
    /// that replaces ≈ 4,000 random reads per query by sequential ones.
    /// </summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    readonly record struct Posting(int Row, ulong Fold0, ulong Fold1);

    /// <param name="bits">Code length, a positive multiple of 64 (256 for PDQ: 16 substrings of 16 bits).</param>
    /// <param name="tailLimit">Rows added since the last table build that queries scan linearly before they are merged into the tables (the limit grows to N/64, up to 4096); 0 merges before every query that follows a change.</param>
    public MultiIndexHashing(int bits, int tailLimit = DefaultTailLimit)
    {
        if (bits <= 0 || bits % 64 != 0) throw new ArgumentException($"code length must be a positive multiple of 64 bits, got {bits}", nameof(bits));
        ArgumentOutOfRangeException.ThrowIfNegative(tailLimit);
        Bits = bits;
        _words = bits / 64;
        _positions = bits / SubstringBits;
        _tailLimit = tailLimit;
        _codes = new ulong[_words * 1024];
        _ids = new long[1024];
        _dead = new ulong[1024 / 64];
        _indexedAt = new int[_positions];
    }

    public int Bits { get; }

    /// <summary>Substring positions (m): Bits/16.</summary>
    public int Positions => _positions;

    public long Count { get { _lock.EnterReadLock(); try { return _rows - _deadRows; } finally { _lock.ExitReadLock(); } } }

    public void Add(long id, ReadOnlySpan<byte> code)
    {
        var words = Words(code);
        _lock.EnterWriteLock();
        try
        {
            if (_rowOf is null && _rows > 0 && id <= _ids[_rows - 1])
            {
                if (TryGetRow(id, out _)) throw Duplicate(id);
                _rowOf = new Dictionary<long, int>(_rows - _deadRows);
                for (var row = 0; row < _rows; row++)
                    if (!IsDead(row)) _rowOf[_ids[row]] = row;
            }
            if (_rowOf is not null && !_rowOf.TryAdd(id, _rows)) throw Duplicate(id);
            if (_rows == _ids.Length)
            {
                Array.Resize(ref _ids, _ids.Length * 2);
                Array.Resize(ref _codes, _ids.Length * _words);
                Array.Resize(ref _dead, _ids.Length / 64);
            }
            words.CopyTo(_codes.AsSpan(_rows * _words, _words));
            _ids[_rows++] = id;
        }
        finally { _lock.ExitWriteLock(); }
    }

    static ArgumentException Duplicate(long id) => new($"id {id} is already in the index", "id");

    public int Remove(IEnumerable<long> ids)
    {
        _lock.EnterWriteLock();
        try
        {
            var removed = 0;
            foreach (var id in ids)
            {
                if (!TryGetRow(id, out var row)) continue;
                _rowOf?.Remove(id);
                _dead[row >> 6] |= 1UL << row;
                _deadRows++;
                removed++;
            }
            return removed;
        }
        finally { _lock.ExitWriteLock(); }
    }

    public BinaryNeighbor[] RangeSearch(ReadOnlySpan<byte> query, int maxDistance, Func<long, bool>? filter = null) =>
        RangeSearch(query, maxDistance, filter, out _);

    /// <inheritdoc cref="RangeSearch(ReadOnlySpan{byte}, int, Func{long, bool}?)"/>
    internal BinaryNeighbor[] RangeSearch(ReadOnlySpan<byte> query, int maxDistance, Func<long, bool>? filter, out MihQueryStats stats) =>
        RangeSearchBatch(Words(query), maxDistance, filter, out stats)[0];

    /// <inheritdoc/>
    /// <remarks>The queries share one read lock and one pass over the tail (each tail row's code is read once for all
    /// of them): detection asks for a PDQ hash's 8 dihedral variants together.</remarks>
    public BinaryNeighbor[][] RangeSearchBatch(ReadOnlySpan<byte> queries, int maxDistance, Func<long, bool>? filter = null) =>
        RangeSearchBatch(BatchWords(queries), maxDistance, filter, out _);

    /// <summary><see cref="RangeSearchBatch(ReadOnlySpan{byte}, int, Func{long, bool}?)"/> over codes as words; the
    /// stats are summed over the queries.</summary>
    internal BinaryNeighbor[][] RangeSearchBatch(ReadOnlySpan<ulong> queries, int maxDistance, Func<long, bool>? filter, out MihQueryStats stats)
    {
        var n = queries.Length / _words;
        var hits = new List<(int Row, int D)>[n];
        for (var i = 0; i < n; i++) hits[i] = [];
        stats = default;
        if (maxDistance < 0) return [.. hits.Select(_ => Array.Empty<BinaryNeighbor>())];
        // Copied: the words are read many times, and a caller's byte span need not be 8-byte aligned.
        Span<ulong> q = queries.Length <= 64 ? stackalloc ulong[queries.Length] : new ulong[queries.Length];
        queries.CopyTo(q);
        Span<bool> scanAll = n <= 64 ? stackalloc bool[n] : new bool[n];
        EnterQuery();
        try
        {
            // r = m·s + a: positions 0…a within s bits, the rest within s − 1 (skipped when s = 0).
            var s = Math.Min(maxDistance / _positions, SubstringBits);
            var a = maxDistance - s * _positions;
            long probes = 0, candidates = 0;
            for (var i = 0; i < n; i++)
            {
                scanAll[i] = !ProbeRange(q.Slice(i * _words, _words), s, a, maxDistance, hits[i], out var one);
                probes += one.Probes;
                candidates += one.Candidates;
            }
            // Every query reads the tail; one that found probing dearer than a scan reads every row instead.
            ScanRange(q, scanAll, maxDistance, hits);
            stats = new MihQueryStats((int)probes, candidates, scanAll.Contains(true));
            var results = new BinaryNeighbor[n][];
            for (var i = 0; i < n; i++) results[i] = Collect(hits[i], filter);
            return results;
        }
        finally { _lock.ExitReadLock(); }
    }

    public BinaryNeighbor[] Search(ReadOnlySpan<byte> query, int k, Func<long, bool>? filter = null) => Search(query, k, filter, out _);

    /// <summary>
    /// Exact k nearest: probes substrings at distance 0, 1, 2, … from the query's in every position, level by level;
    /// after level s every code within m·(s + 1) − 1 bits has been seen, so the search stops once k accepted codes
    /// lie within that radius, or scans linearly once the next level would cost more than a scan.
    /// </summary>
    internal BinaryNeighbor[] Search(ReadOnlySpan<byte> query, int k, Func<long, bool>? filter, out MihQueryStats stats)
    {
        Span<ulong> q = stackalloc ulong[_words];
        Words(query).CopyTo(q);
        stats = default;
        if (k <= 0) return [];
        EnterQuery();
        try
        {
            var top = new TopK<int>(k);
            var linear = _offsets is null;
            if (!linear)
            {
                var seen = new HashSet<int>();
                OfferRows(q, _indexed, _rows, ref top, filter);
                double spent = _rows - _indexed;
                var probes = 0;
                long candidates = 0;
                for (var s = 0; ; s++)
                {
                    // Every code within this radius has a substring within s bits of the query's.
                    var covered = _positions * (s + 1) - 1;
                    if (s > SubstringBits) break;
                    int from = WeightStart[s], to = WeightStart[s + 1];
                    var levelProbes = _positions * (to - from);
                    var levelCandidates = levelProbes * ProbeCost > _rows ? long.MaxValue : CountCandidates(q, from, to);
                    var cost = levelProbes * ProbeCost + levelCandidates * CandidateCost;
                    if (spent + cost > _rows) { linear = true; break; }
                    spent += cost;
                    probes += levelProbes;
                    candidates += levelCandidates;
                    var rows = ArrayPool<int>.Shared.Rent((int)levelCandidates);
                    var n = 0;
                    for (var p = 0; p < _positions; p++) n = Gather(q, p, from, to, rows, n);
                    VerifyTop(q, rows.AsSpan(0, n), ref top, seen, filter);
                    ArrayPool<int>.Shared.Return(rows);
                    if (!top.Admits(covered + 1) || covered >= Bits) break;
                }
                stats = new MihQueryStats(probes, candidates, linear);
            }
            if (linear)
            {
                top = new TopK<int>(k);
                OfferRows(q, 0, _rows, ref top, filter);
                stats = new MihQueryStats(stats.Probes, stats.Candidates + _rows, true);
            }
            return Array.ConvertAll(top.Drain(), h => new BinaryNeighbor(h.Id, h.D));
        }
        finally { _lock.ExitReadLock(); }
    }

    public void Save(Stream stream)
    {
        _lock.EnterReadLock();
        try
        {
            using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Write(Bits);
            w.Write((long)(_rows - _deadRows));
            for (var row = 0; row < _rows; row++)
                if (!IsDead(row)) w.Write(_ids[row]);
            for (var row = 0; row < _rows; row++)
                if (!IsDead(row)) w.Write(MemoryMarshal.AsBytes(_codes.AsSpan(row * _words, _words)));
        }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>Reads an index written by <see cref="Save"/> (magic <c>MMIH</c>, version, bits, count, ids, codes; the tables are rebuilt).</summary>
    /// <exception cref="InvalidDataException">Not a multi-index hashing index, an unknown version, inconsistent, or truncated.</exception>
    public static MultiIndexHashing Load(Stream stream, int tailLimit = DefaultTailLimit)
    {
        using var r = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) throw new InvalidDataException("not a multi-index hashing index");
            if (r.ReadInt32() is var version && version != FormatVersion) throw new InvalidDataException($"index format version {version} is unknown");
            var bits = r.ReadInt32();
            if (bits <= 0 || bits % 64 != 0 || bits > 1 << 16) throw new InvalidDataException($"index codes have {bits} bits");
            var count = r.ReadInt64();
            var rowBytes = 8L + bits / 8;
            if (count < 0 || count > Array.MaxLength / (bits / 8) || (stream.CanSeek && count * rowBytes > stream.Length - stream.Position))
                throw new InvalidDataException($"index claims {count} rows");
            var ids = new long[count];
            stream.ReadExactly(MemoryMarshal.AsBytes(ids.AsSpan()));
            var codes = new byte[count * (bits / 8)];
            stream.ReadExactly(codes);
            var index = new MultiIndexHashing(bits, tailLimit);
            var bytes = bits / 8;
            for (var i = 0; i < count; i++)
            {
                try { index.Add(ids[i], codes.AsSpan(i * bytes, bytes)); }
                catch (ArgumentException ex) { throw new InvalidDataException($"index holds id {ids[i]} twice", ex); }
            }
            return index;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("index is truncated", ex);
        }
    }

    /// <summary>Bytes held by the arrays (codes, ids, tombstones, tables) and the id dictionary if any, estimated at 28 bytes an entry.</summary>
    internal long MemoryBytes
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                long bytes = _codes.Length * 8L + _ids.Length * 8L + _dead.Length * 8L;
                foreach (var a in _offsets ?? []) bytes += a.Length * 4L;
                foreach (var a in _postings ?? []) bytes += a.Length * (long)Unsafe.SizeOf<Posting>(); // native
                if (_rowOf is not null) bytes += _rowOf.Capacity * 28L;
                return bytes;
            }
            finally { _lock.ExitReadLock(); }
        }
    }

    /// <summary>Tail merges and full table builds so far (tests and measurement).</summary>
    internal int Merges { get; private set; }
    /// <inheritdoc cref="Merges"/>
    internal int FullRebuilds { get; private set; }

    /// <summary>For measurement: probe the tables even where the cost check would scan linearly.</summary>
    internal bool NeverScan { get; set; }

    /// <summary>Brings every table up to date now: a full build, or a merge of every position's tail (otherwise queries do, one position at a time).</summary>
    internal void Rebuild()
    {
        _lock.EnterWriteLock();
        try
        {
            if (_offsets is null || TooManyTombstones) FullRebuildLocked();
            else for (var p = 0; p < _positions; p++) MergeTail(p);
        }
        finally { _lock.ExitWriteLock(); }
    }

    // ---- queries (under the read lock) ----

    /// <summary>Takes the read lock, first rebuilding the tables under the write lock if the tail or the tombstones outgrew their limits.</summary>
    void EnterQuery()
    {
        while (true)
        {
            _lock.EnterReadLock();
            if (!NeedsRebuild) return;
            _lock.ExitReadLock();
            _lock.EnterWriteLock();
            try { if (NeedsRebuild) RebuildLocked(); }
            finally { _lock.ExitWriteLock(); }
        }
    }

    bool NeedsRebuild => TooManyTombstones || (_offsets is null ? _rows > TailBound : NextMerge() >= 0);

    /// <summary>Rows a position's tail may hold before it is merged into its table: the tail limit, raised to N/64 but
    /// at most <see cref="MaxMergedTail"/> (a merge is a sequential pass over a table, so merging often is cheap; a
    /// query scans the whole tail).</summary>
    int TailBound => Math.Max(_tailLimit, Math.Min(_indexed / 64, MaxMergedTail));

    /// <summary>
    /// The position whose tail a query should merge now, or −1. Merges are spread out so that no query pays for more
    /// than one table (≈ 4 ms at 10⁶ rows, where all sixteen took 55–108 ms): the position with the oldest table is
    /// merged once TailBound/m rows have arrived since the last merge, so each table is merged about every TailBound
    /// rows. A position more than TailBound + TailBound/m rows behind (rows added in bulk between queries) is merged
    /// at once.
    /// </summary>
    int NextMerge()
    {
        var oldest = 0;
        for (var p = 1; p < _positions; p++)
            if (_indexedAt[p] < _indexedAt[oldest]) oldest = p;
        var tail = _rows - _indexedAt[oldest];
        if (tail == 0) return -1;
        var spacing = Math.Max(1, TailBound / _positions);
        if (tail > TailBound + spacing) return oldest;
        return _rows - _lastMerge >= spacing && tail >= spacing ? oldest : -1;
    }

    bool TooManyTombstones => _deadRows > Math.Max(_tailLimit, _rows / 8);

    /// <summary>
    /// What a range query's candidate costs, in scan rows: its table entry read in sequence (≈ 1), plus a random-access
    /// verification (<see cref="CandidateCost"/>) for the share of unrelated rows whose fold passes, P(Binomial(128, ½) ≤ r)
    /// by the normal approximation (≈ 0 at r = 31, 0.5 at r = 64).
    /// </summary>
    static double RangeCandidateCost(int r)
    {
        var z = (r + 0.5 - 64) / Math.Sqrt(32);
        var pass = 0.5 * (1 + Erf(z / Math.Sqrt(2)));
        return 1 + CandidateCost * pass;
    }

    /// <summary>The error function (Abramowitz &amp; Stegun 7.1.26, |error| ≤ 1.5·10⁻⁷).</summary>
    static double Erf(double x)
    {
        var sign = Math.Sign(x);
        x = Math.Abs(x);
        var t = 1 / (1 + 0.3275911 * x);
        var y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return sign * y;
    }

    /// <summary>Rows the masks [from, to) would return over every position.</summary>
    long CountCandidates(ReadOnlySpan<ulong> q, int from, int to)
    {
        long n = 0;
        for (var p = 0; p < _positions; p++)
        {
            var off = _offsets![p];
            var v = Substring(q, p);
            for (var i = from; i < to; i++)
            {
                var b = v ^ MasksByWeight[i];
                n += off[b + 1] - off[b];
            }
        }
        return n;
    }

    /// <summary>Appends to <paramref name="rows"/> the rows of position <paramref name="p"/> under the masks [from, to).</summary>
    int Gather(ReadOnlySpan<ulong> q, int p, int from, int to, int[] rows, int n)
    {
        var off = _offsets![p];
        var post = _postings![p].Span;
        var v = Substring(q, p);
        for (var i = from; i < to; i++)
        {
            var b = v ^ MasksByWeight[i];
            for (int j = off[b], end = off[b + 1]; j < end; j++)
                if (post[j].Row < _indexed) rows[n++] = post[j].Row; // entries from _indexed on are in the tail, which the query scans
        }
        return n;
    }

    /// <summary>
    /// A range query of radius r = m·s + a through the tables, unless a linear scan would cost less: looks up every
    /// substring value of the plan (positions 0…a within s bits, the rest within s − 1), keeps the rows whose folds lie
    /// within r and verifies them by their codes into <paramref name="hits"/>; the tail is left to
    /// <see cref="ScanRange"/>. Each look-up is two dependent random reads (its offsets, then its bucket), about 550
    /// cache misses per query at 10⁶ rows; taken one after the other they wait on each other, so this works in three
    /// passes over all look-ups: bucket numbers (prefetching the offsets), bucket bounds (prefetching the buckets, and
    /// counting the candidates, which decides between probing and a scan), then the buckets' entries, asking for every
    /// cache line of the bucket <see cref="BucketsAhead"/> further on meanwhile (a bucket at 10⁶ rows is about five lines,
    /// and prefetching only its first left the rest to miss one after the other: at 10⁶ random hashes, batches of 8
    /// queries at r = 31 took 35 µs a query before, 17 µs after, in one run of <c>Media.Benchmarks mih</c>; 4 and 16
    /// buckets ahead measured 17.7 and 22.8 µs). Returns false,
    /// having added nothing, when the query should scan every row instead; the stats say what the plan cost.
    /// </summary>
    bool ProbeRange(ReadOnlySpan<ulong> q, int s, int a, int maxDistance, List<(int Row, int D)> hits, out MihQueryStats stats)
    {
        stats = new MihQueryStats(0, _rows, true);
        if (_offsets is null) return false;
        var lookups = 0;
        for (var p = 0; p < _positions; p++)
        {
            var radius = p <= a ? s : s - 1;
            if (radius >= 0) lookups += WeightStart[radius + 1];
        }
        if (lookups * ProbeCost > _rows && !NeverScan) return false;
        var plan = ArrayPool<int>.Shared.Rent(3 * lookups);
        try
        {
            var offsets = _offsets;
            var postings = _postings!;
            var k = 0;
            for (var p = 0; p < _positions; p++)
            {
                var radius = p <= a ? s : s - 1;
                if (radius < 0) continue;
                var v = Substring(q, p);
                var off = offsets[p];
                for (var i = 0; i < WeightStart[radius + 1]; i++)
                {
                    var b = v ^ MasksByWeight[i];
                    Prefetch(ref off[b]);
                    plan[3 * k] = p;
                    plan[3 * k + 1] = b;
                    k++;
                }
            }
            long candidates = 0;
            for (var j = 0; j < k; j++)
            {
                var off = offsets[plan[3 * j]];
                var b = plan[3 * j + 1];
                int start = off[b], end = off[b + 1];
                if (end > start) Prefetch(ref postings[plan[3 * j]].Span[start]);
                plan[3 * j + 1] = start;
                plan[3 * j + 2] = end;
                candidates += end - start;
            }
            var tail = _rows - _indexed;
            if (lookups * ProbeCost + candidates * RangeCandidateCost(maxDistance) + tail > _rows && !NeverScan)
            {
                stats = new MihQueryStats(lookups, _rows, true);
                return false;
            }
            stats = new MihQueryStats(lookups, candidates + tail, false);

            var (f0, f1) = Fold(q);
            var indexed = _indexed; // entries from here on are in the tail, which ScanRange reads
            var rows = ArrayPool<int>.Shared.Rent((int)candidates);
            var n = 0;
            for (var j = 0; j < k; j++)
            {
                if (j + BucketsAhead < k)
                {
                    var ahead = 3 * (j + BucketsAhead);
                    PrefetchEntries(postings[plan[ahead]].Span, plan[ahead + 1], plan[ahead + 2]);
                }
                var post = postings[plan[3 * j]].Span;
                for (int e = plan[3 * j + 1], end = plan[3 * j + 2]; e < end; e++)
                {
                    ref readonly var entry = ref post[e];
                    if (entry.Row < indexed && BitOperations.PopCount(entry.Fold0 ^ f0) + BitOperations.PopCount(entry.Fold1 ^ f1) <= maxDistance) rows[n++] = entry.Row;
                }
            }
            VerifyRange(q, maxDistance, rows.AsSpan(0, n), hits);
            ArrayPool<int>.Shared.Return(rows);
            return true;
        }
        finally { ArrayPool<int>.Shared.Return(plan); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Prefetch<T>(ref T at)
    {
        if (Sse.IsSupported) Sse.Prefetch0(Unsafe.AsPointer(ref at));
    }

    /// <summary>Asks for every cache line of the entries [start, end) to be brought into cache.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void PrefetchEntries(Span<Posting> entries, int start, int end)
    {
        if (!Sse.IsSupported || end <= start) return;
        var first = (byte*)Unsafe.AsPointer(ref entries[start]);
        var last = (byte*)Unsafe.AsPointer(ref entries[end - 1]) + sizeof(Posting) - 1;
        for (var line = (byte*)((nint)first & ~63); line <= last; line += 64) Sse.Prefetch0(line);
    }

    /// <summary>A code folded to 128 bits: the XOR of its even words and of its odd words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (ulong, ulong) Fold(ReadOnlySpan<ulong> code)
    {
        if (code.Length == 4) return (code[0] ^ code[2], code[1] ^ code[3]);
        ulong f0 = 0, f1 = 0;
        for (var i = 0; i < code.Length; i += 2) f0 ^= code[i];
        for (var i = 1; i < code.Length; i += 2) f1 ^= code[i];
        return (f0, f1);
    }

    Posting PostingOf(int row)
    {
        var (f0, f1) = Fold(_codes.AsSpan(row * _words, _words));
        return new Posting(row, f0, f1);
    }

    void VerifyRange(ReadOnlySpan<ulong> q, int r, ReadOnlySpan<int> rows, List<(int, int)> hits)
    {
        for (var i = 0; i < rows.Length; i++)
        {
            if (i + PrefetchAhead < rows.Length) Prefetch(rows[i + PrefetchAhead]);
            var row = rows[i];
            var d = Distance(q, row);
            if (d <= r) hits.Add((row, d));
        }
    }

    void VerifyTop(ReadOnlySpan<ulong> q, ReadOnlySpan<int> rows, ref TopK<int> top, HashSet<int> seen, Func<long, bool>? filter)
    {
        for (var i = 0; i < rows.Length; i++)
        {
            if (i + PrefetchAhead < rows.Length) Prefetch(rows[i + PrefetchAhead]);
            var row = rows[i];
            var d = Distance(q, row);
            if (!top.Admits(d) || !seen.Add(row) || IsDead(row) || (filter is not null && !filter(_ids[row]))) continue;
            top.Offer(_ids[row], d);
        }
    }

    /// <summary>The linear part of a batch of range queries, in one pass over the rows: every query reads the tail
    /// [indexed, rows), and those marked in <paramref name="scanAll"/> every row. Each row's code is folded once (see
    /// <see cref="Posting"/>) and compared by fold with every query, two popcounts instead of four for PDQ; only rows
    /// whose fold lies within r are compared in full.</summary>
    void ScanRange(ReadOnlySpan<ulong> queries, ReadOnlySpan<bool> scanAll, int r, List<(int Row, int D)>[] hits)
    {
        var n = hits.Length;
        Span<ulong> folds = n <= 64 ? stackalloc ulong[2 * n] : new ulong[2 * n];
        for (var i = 0; i < n; i++) (folds[2 * i], folds[2 * i + 1]) = Fold(queries.Slice(i * _words, _words));
        for (var row = scanAll.Contains(true) ? 0 : _indexed; row < _rows; row++)
        {
            var tail = row >= _indexed;
            var (f0, f1) = Fold(_codes.AsSpan(row * _words, _words));
            for (var i = 0; i < n; i++)
            {
                if (!tail && !scanAll[i]) continue;
                if (BitOperations.PopCount(f0 ^ folds[2 * i]) + BitOperations.PopCount(f1 ^ folds[2 * i + 1]) > r) continue;
                var d = Distance(queries.Slice(i * _words, _words), row);
                if (d <= r) hits[i].Add((row, d));
            }
        }
    }

    void OfferRows(ReadOnlySpan<ulong> q, int from, int to, ref TopK<int> top, Func<long, bool>? filter)
    {
        for (var row = from; row < to; row++)
        {
            var d = Distance(q, row);
            if (!top.Admits(d) || IsDead(row) || (filter is not null && !filter(_ids[row]))) continue;
            top.Offer(_ids[row], d);
        }
    }

    /// <summary>Hit rows (a row found through several positions appears once per position) → neighbours in id order, without tombstones and filtered.</summary>
    BinaryNeighbor[] Collect(List<(int Row, int D)> hits, Func<long, bool>? filter)
    {
        hits.Sort((x, y) => x.Row.CompareTo(y.Row));
        var result = new List<BinaryNeighbor>(hits.Count);
        for (var i = 0; i < hits.Count; i++)
        {
            var (row, d) = hits[i];
            if ((i > 0 && hits[i - 1].Row == row) || IsDead(row)) continue;
            var id = _ids[row];
            if (filter is null || filter(id)) result.Add(new BinaryNeighbor(id, d));
        }
        if (_rowOf is not null) result.Sort((x, y) => x.Id.CompareTo(y.Id)); // otherwise row order is id order
        return [.. result];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    int Distance(ReadOnlySpan<ulong> q, int row)
    {
        ref var c = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_codes), (nint)row * _words);
        ref var x = ref MemoryMarshal.GetReference(q);
        if (_words == 4)
            return BitOperations.PopCount(c ^ x) + BitOperations.PopCount(Unsafe.Add(ref c, 1) ^ Unsafe.Add(ref x, 1)) +
                   BitOperations.PopCount(Unsafe.Add(ref c, 2) ^ Unsafe.Add(ref x, 2)) + BitOperations.PopCount(Unsafe.Add(ref c, 3) ^ Unsafe.Add(ref x, 3));
        var d = 0;
        for (var i = 0; i < q.Length; i++) d += BitOperations.PopCount(Unsafe.Add(ref c, i) ^ Unsafe.Add(ref x, i));
        return d;
    }

    /// <summary>Asks for a row's code to be brought into cache (x86; elsewhere nothing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    unsafe void Prefetch(int row)
    {
        if (Sse.IsSupported) Sse.Prefetch0(Unsafe.AsPointer(ref _codes[(nint)row * _words]));
    }

    /// <summary>Substring <paramref name="p"/>: bits [16p, 16p + 16) of the code read as little-endian 64-bit words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Substring(ReadOnlySpan<ulong> code, int p) => (ushort)(code[p >> 2] >> ((p & 3) * SubstringBits));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool IsDead(int row) => (_dead[row >> 6] & (1UL << row)) != 0;

    bool TryGetRow(long id, out int row)
    {
        if (_rowOf is not null) return _rowOf.TryGetValue(id, out row);
        row = Array.BinarySearch(_ids, 0, _rows, id);
        return row >= 0 && !IsDead(row);
    }

    // ---- rebuild (under the write lock) ----

    /// <summary>
    /// Brings the tables up to date as far as a query should: merges one position's tail into its table
    /// (<see cref="MergeTail"/>, <see cref="NextMerge"/>) when the tables exist and the tombstones are within their limit;
    /// otherwise <see cref="FullRebuildLocked"/>.
    /// </summary>
    void RebuildLocked()
    {
        if (_offsets is not null && !TooManyTombstones)
        {
            if (NextMerge() is var p and >= 0) MergeTail(p);
            return;
        }
        FullRebuildLocked();
    }

    /// <summary>Drops tombstones (rows keep their order) and rebuilds every position's table by a counting sort over all rows.</summary>
    void FullRebuildLocked()
    {
        FullRebuilds++;
        if (_deadRows > 0)
        {
            var live = 0;
            for (var row = 0; row < _rows; row++)
            {
                if (IsDead(row)) continue;
                if (live != row)
                {
                    _codes.AsSpan(row * _words, _words).CopyTo(_codes.AsSpan(live * _words, _words));
                    _ids[live] = _ids[row];
                    if (_rowOf is not null) _rowOf[_ids[live]] = live;
                }
                live++;
            }
            Array.Clear(_dead);
            _rows = live;
            _deadRows = 0;
        }
        _offsets ??= new int[_positions][];
        _postings ??= new NativeBuffer<Posting>[_positions];
        var cursor = new int[Values];
        for (var p = 0; p < _positions; p++)
        {
            var off = _offsets[p] ??= new int[Values + 1];
            Array.Clear(off);
            int word = p >> 2, shift = (p & 3) * SubstringBits;
            for (var row = 0; row < _rows; row++) off[(ushort)(_codes[row * _words + word] >> shift) + 1]++;
            for (var v = 0; v < Values; v++) off[v + 1] += off[v];
            var table = _postings[p] ??= new NativeBuffer<Posting>(0);
            if (table.Length < _rows || table.Length > 2 * _rows + 1024) table.Resize(_rows + _rows / 32);
            var post = table.Span;
            off.AsSpan(0, Values).CopyTo(cursor);
            for (var row = 0; row < _rows; row++) post[cursor[(ushort)(_codes[row * _words + word] >> shift)]++] = PostingOf(row);
        }
        Array.Fill(_indexedAt, _rows);
        _indexed = _lastMerge = _rows;
    }

    /// <summary>
    /// Merges position <paramref name="p"/>'s tail rows [indexedAt[p], rows) into its table in place, without touching
    /// the rows already there: the tail's (substring, row) keys are sorted, then the table is walked from its last value
    /// down, moving each stretch of entries right by the number of tail rows that sort before it and dropping the tail
    /// rows into the gaps; offsets move with them. The table keeps its rows ascending within each value (tail rows come
    /// after every indexed row). Cost: a sort of the tail, one pass over the offsets and a move of the entries — about
    /// 4 ms at 10⁶ rows, where a full rebuild scatters every row of every table again (hundreds of ms).
    /// </summary>
    void MergeTail(int p)
    {
        var from = _indexedAt[p];
        var tail = _rows - from;
        if (tail == 0) return;
        var keys = ArrayPool<long>.Shared.Rent(tail);
        {
            var off = _offsets![p];
            var table = _postings![p];
            if (table.Length < _rows) table.Resize(_rows + _rows / 32);
            var post = table.Span;
            int word = p >> 2, shift = (p & 3) * SubstringBits;
            for (var i = 0; i < tail; i++)
            {
                var row = from + i;
                keys[i] = ((long)(ushort)(_codes[row * _words + word] >> shift) << 32) | (uint)row;
            }
            Array.Sort(keys, 0, tail);
            // Invariant: values above v are final; postings [.., oldEnd) of values ≤ v are where they were.
            int t = tail - 1, v = Values, oldEnd = from;
            while (t >= 0)
            {
                var value = (int)(keys[t] >> 32);
                var by = t + 1;                      // tail rows of values ≤ value: how far this stretch moves
                var stretch = off[value + 1];        // old start of the values above this one
                post[stretch..oldEnd].CopyTo(post[(stretch + by)..]);
                for (var u = value + 1; u <= v; u++) off[u] += by;
                var k = 1;
                while (t - k >= 0 && (int)(keys[t - k] >> 32) == value) k++;
                for (var j = 0; j < k; j++) post[stretch + by - k + j] = PostingOf((int)keys[t - k + 1 + j]);
                t -= k;
                oldEnd = stretch;
                v = value;
            }
        }
        ArrayPool<long>.Shared.Return(keys);
        _indexedAt[p] = _lastMerge = _rows;
        _indexed = _indexedAt.Min();
        Merges++;
    }

    ReadOnlySpan<ulong> BatchWords(ReadOnlySpan<byte> codes)
    {
        if (codes.Length % (Bits / 8) != 0) throw new ArgumentException($"expected whole {Bits}-bit codes ({Bits / 8} bytes each), got {codes.Length} bytes", nameof(codes));
        return MemoryMarshal.Cast<byte, ulong>(codes);
    }

    ReadOnlySpan<ulong> Words(ReadOnlySpan<byte> code)
    {
        if (code.Length * 8 != Bits) throw new ArgumentException($"expected a {Bits}-bit code ({Bits / 8} bytes), got {code.Length} bytes", nameof(code));
        return MemoryMarshal.Cast<byte, ulong>(code);
    }

    static ushort[] BuildMasks(out int[] weightStart)
    {
        var masks = new ushort[Values];
        for (var v = 0; v < Values; v++) masks[v] = (ushort)v;
        Array.Sort(masks, (x, y) => BitOperations.PopCount(x) != BitOperations.PopCount(y)
            ? BitOperations.PopCount(x).CompareTo(BitOperations.PopCount(y)) : x.CompareTo(y));
        weightStart = new int[SubstringBits + 2];
        for (var w = 0; w <= SubstringBits; w++) weightStart[w + 1] = weightStart[w] + (int)BinomialOf16(w);
        return masks;
    }

    static long BinomialOf16(int k)
    {
        long c = 1;
        for (var i = 0; i < k; i++) c = c * (SubstringBits - i) / (i + 1);
        return c;
    }
}
