using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Numerics.Tensors;
using Media.Index.Hnsw;

namespace Media.Index;

/// <summary>Parameters of an <see cref="HnswVectorIndex"/>. The defaults are the paper's and hnswlib's.</summary>
public sealed record HnswOptions
{
    /// <summary>Neighbours chosen per node and level on insert, and the list size on levels ≥ 1.</summary>
    public int M { get; init; } = 16;
    /// <summary>List size on level 0; null: 2·<see cref="M"/>.</summary>
    public int? M0 { get; init; }
    /// <summary>Candidate list size while inserting (quality of the graph against insert time).</summary>
    public int EfConstruction { get; init; } = 200;
    /// <summary>Candidate list size while searching (recall against latency); a search uses at least k. On 200k × 512-d
    /// clustered data recall@10 is 0.97 at 16 and 1.00 at 64 (docs/hnsw-measurement.md); 64 leaves room for harder data.</summary>
    public int EfSearch { get; init; } = 64;
    /// <summary>
    /// How the default efSearch grows with the index: a search without an explicit ef uses
    /// ⌈<see cref="EfSearch"/>·max(1, (N / <see cref="EfSearchReferenceSize"/>)^growth)⌉ for N live rows; 0 keeps it fixed.
    /// A graph's recall at a fixed ef falls slowly as it grows; on the index benchmark's clustered 512-d data recall@10 at
    /// ef 64 was 0.966 at 2·10⁵ and 0.929 at 10⁶, where ef 96 gave 0.973 — the fourth root of the size ratio (5^¼ = 1.50)
    /// takes 64 to 96. Not saved with the index (a loaded index takes the options given at load, else this default).
    /// </summary>
    public double EfSearchGrowth { get; init; } = 0.25;
    /// <summary>The size up to which the default efSearch stays <see cref="EfSearch"/> (see <see cref="EfSearchGrowth"/>).</summary>
    public int EfSearchReferenceSize { get; init; } = 200_000;
    /// <summary>Use int8 codes (per-vector scale), a quarter of the bytes of the float rows: searches walk them and
    /// re-rank their final candidates with the float vectors, which are kept (for that and
    /// <see cref="IVectorIndex.TryGetVector"/>); insertion computes every distance with them, neighbour selection included.</summary>
    public bool Quantize { get; init; }
    /// <summary>At or below this many rows searches scan exactly (faster there, and exact). The graph is still built.</summary>
    public int ExactSearchThreshold { get; init; } = 2048;
    /// <summary>Seed of the level generator (the graph is deterministic for one insertion order).</summary>
    public int Seed { get; init; } = 42;

    internal int EffectiveM0 => M0 ?? 2 * M;

    internal void Validate()
    {
        if (M < 2 || M > 1024) throw new ArgumentOutOfRangeException(nameof(M), M, "2..1024");
        if (EffectiveM0 < M || EffectiveM0 > 4096) throw new ArgumentOutOfRangeException(nameof(M0), M0, "M..4096");
        if (EfConstruction < 1) throw new ArgumentOutOfRangeException(nameof(EfConstruction));
        if (EfSearch < 1) throw new ArgumentOutOfRangeException(nameof(EfSearch));
        if (EfSearchGrowth is < 0 or > 1 || double.IsNaN(EfSearchGrowth)) throw new ArgumentOutOfRangeException(nameof(EfSearchGrowth), EfSearchGrowth, "0..1");
        if (EfSearchReferenceSize < 1) throw new ArgumentOutOfRangeException(nameof(EfSearchReferenceSize));
        if (ExactSearchThreshold < 0) throw new ArgumentOutOfRangeException(nameof(ExactSearchThreshold));
    }
}

/// <summary>
/// Approximate cosine search by a hierarchical navigable small-world graph (Malkov &amp; Yashunin 2016, Algorithms 1–5;
/// the heuristic neighbour selection, as in hnswlib), behind <see cref="IVectorIndex"/>.
/// <para>Storage: flat native rows that never move (<see cref="SegmentedRows{T}"/>): vectors, optional int8 codes,
/// level-0 lists of M0 node numbers, level ≥ 1 lists in a slot pool, and per-node id, level and tombstone. No per-node objects.</para>
/// <para>Concurrency: one writer at a time (Add, Remove, Save take a lock); readers take no lock. A node's vector, codes
/// and own lists are written before any list links to it (release writes) and nodes never move, so a reader only ever
/// meets complete nodes. A reader may see a neighbour list while the writer rewrites it (a mix of old and new entries,
/// each a complete node): that can cost that one query a little recall, never a crash or a wrong distance. A search racing
/// a Remove may still return the row being removed.</para>
/// <para>Remove marks a tombstone: the node still routes searches, is never returned, and <see cref="Count"/> excludes it.
/// Its memory is not reclaimed (rebuild to compact after heavy churn).</para>
/// <para>Filters and tombstones: the walk admits only accepted rows to the answer and keeps going until it holds ef of them.
/// A filter's selectivity is estimated from a 128-row sample; when the walk would cost more than a scan, or returns fewer
/// than k rows, the search scans exactly instead. Filters must be pure and must not search this index.</para>
/// <para>Range search is top-k with k doubling until the k-th distance exceeds the radius (or a scan is cheaper); it is
/// approximate like top-k: a row in range is missed when the graph search misses it.</para>
/// </summary>
public sealed unsafe class HnswVectorIndex : IVectorIndex, IDisposable
{
    static ReadOnlySpan<byte> Magic => "MHNW"u8;
    const int FormatVersion = 1;
    const int MaxLevel = 16;
    const int SelectivitySamples = 128;
    /// <summary>Rows asked for by a range search's first probe.</summary>
    const int RangeProbe = 16;
    /// <summary>Neighbours whose rows a walk prefetches ahead of the one it is comparing.</summary>
    const int PrefetchAhead = 3;

    readonly HnswOptions _options;
    readonly int _m, _m0, _efConstruction, _threshold, _codeStride;
    readonly double _levelMultiplier;
    readonly bool _quantize;
    readonly SegmentedRows<float> _vectors;
    readonly SegmentedRows<sbyte>? _codes;
    readonly SegmentedRows<int> _links0, _upper;
    readonly SegmentedRows<NodeMeta> _meta;
    readonly ConcurrentDictionary<long, int> _nodeOf = new();
    readonly object _writeLock = new();
    readonly SearchContext _writer = new();
    Random _levels;
    int _nodes, _live, _deleted, _upperSlots, _efSearch;
    long _entry = -1;
    long _exactScans;
    double _meanEvaluations;

    [StructLayout(LayoutKind.Sequential)]
    struct NodeMeta
    {
        public long Id;
        public int UpperSlot;
        public byte Level;
        public byte Deleted;
    }

    /// <summary>An empty index of <paramref name="dimension"/>-long unit vectors.</summary>
    public HnswVectorIndex(int dimension, HnswOptions? options = null)
    {
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension));
        _options = options ?? new HnswOptions();
        _options.Validate();
        Dimension = dimension;
        _m = _options.M;
        _m0 = _options.EffectiveM0;
        _efConstruction = _options.EfConstruction;
        _efSearch = _options.EfSearch;
        _threshold = _options.ExactSearchThreshold;
        _quantize = _options.Quantize;
        _levelMultiplier = 1 / Math.Log(_m);
        _levels = new Random(_options.Seed);
        _vectors = new SegmentedRows<float>(dimension);
        _codeStride = (dimension + sizeof(float) + 63) & ~63;
        if (_quantize) _codes = new SegmentedRows<sbyte>(_codeStride);
        _links0 = new SegmentedRows<int>(_m0 + 1);
        _upper = new SegmentedRows<int>(_m + 1);
        _meta = new SegmentedRows<NodeMeta>(1);
        _meanEvaluations = 10.0 * _efSearch;
        GrowEfSearch = _options.EfSearchGrowth > 0;
    }

    public int Dimension { get; }
    public long Count => Volatile.Read(ref _live);
    /// <summary>The options this index was made with (<see cref="HnswOptions.EfSearch"/> as made, not as tuned since).</summary>
    public HnswOptions Options => _options;

    /// <summary>The base of the default candidate list size (see <see cref="EffectiveEfSearch"/>); may be tuned at any time.</summary>
    public int EfSearch
    {
        get => Volatile.Read(ref _efSearch);
        set => Volatile.Write(ref _efSearch, value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value)));
    }

    /// <summary>Whether the default efSearch grows with the index (<see cref="HnswOptions.EfSearchGrowth"/>); may be
    /// turned off at any time (tuning ef by measurement, as the index benchmark does).</summary>
    public bool GrowEfSearch { get; set; }

    /// <summary>The candidate list size <see cref="Search(ReadOnlySpan{float}, int, Func{long, bool}?)"/> uses now:
    /// <see cref="EfSearch"/>, grown with the live rows when <see cref="GrowEfSearch"/> is on.</summary>
    public int EffectiveEfSearch
    {
        get
        {
            var ef = EfSearch;
            var live = Count;
            if (!GrowEfSearch || _options.EfSearchGrowth == 0 || live <= _options.EfSearchReferenceSize) return ef;
            return (int)Math.Min(4096, Math.Ceiling(ef * Math.Pow((double)live / _options.EfSearchReferenceSize, _options.EfSearchGrowth)));
        }
    }

    /// <summary>Searches that scanned exactly instead of walking the graph (for tests and tuning).</summary>
    internal long ExactScans => Interlocked.Read(ref _exactScans);
    /// <summary>Native bytes held by the rows (vectors, codes, lists, metadata).</summary>
    public long AllocatedBytes => _vectors.AllocatedBytes + (_codes?.AllocatedBytes ?? 0) + _links0.AllocatedBytes + _upper.AllocatedBytes + _meta.AllocatedBytes;

    // ---- add ------------------------------------------------------------------------------------------------------

    public void Add(long id, ReadOnlySpan<float> vector)
    {
        if (vector.Length != Dimension) throw new ArgumentException($"expected {Dimension} values, got {vector.Length}", nameof(vector));
        lock (_writeLock)
        {
            if (_nodeOf.ContainsKey(id)) throw new ArgumentException($"id {id} is already in the index", nameof(id));
            var node = _nodes;
            var level = Math.Min(MaxLevel, (int)(-Math.Log(1 - _levels.NextDouble()) * _levelMultiplier));
            WriteNode(node, id, level, deleted: false, vector);
            Connect(node, level);
            _nodeOf[id] = node;
            Volatile.Write(ref _live, _live + 1);
        }
        GC.KeepAlive(this);
    }

    void WriteNode(int node, long id, int level, bool deleted, ReadOnlySpan<float> vector)
    {
        _vectors.EnsureCapacity(node + 1);
        _codes?.EnsureCapacity(node + 1);
        _links0.EnsureCapacity(node + 1);
        _meta.EnsureCapacity(node + 1);
        vector.CopyTo(new Span<float>(_vectors.Row(node), Dimension));
        if (_codes is not null) Encode(vector, _codes.Row(node));
        var meta = _meta.Row(node);
        meta->Id = id;
        meta->Level = (byte)level;
        meta->Deleted = deleted ? (byte)1 : (byte)0;
        meta->UpperSlot = level > 0 ? AllocateSlots(level) : -1;
        *_links0.Row(node) = 0;
        for (var l = 1; l <= level; l++) *Links(node, l) = 0;
    }

    /// <summary>Level ≥ 1 lists of one node are consecutive slots, never straddling a segment.</summary>
    int AllocateSlots(int count)
    {
        var start = _upperSlots;
        var lastSegment = SegmentedRows<int>.SegmentOf(start + count - 1);
        if (SegmentedRows<int>.SegmentOf(start) != lastSegment) start = SegmentedRows<int>.FirstRowOf(lastSegment);
        _upper.EnsureCapacity(start + count);
        _upperSlots = start + count;
        return start;
    }

    /// <summary>int8 codes c = round(x / s) with s = max|x| / 127, and s stored after the codes.</summary>
    void Encode(ReadOnlySpan<float> vector, sbyte* code)
    {
        var max = Math.Abs(TensorPrimitives.MaxMagnitude(vector));
        var scale = max > 0 ? max / 127 : 0;
        var inverse = max > 0 ? 127 / max : 0;
        for (var i = 0; i < vector.Length; i++) code[i] = (sbyte)Math.Clamp(MathF.Round(vector[i] * inverse), -127, 127);
        *(float*)(code + Dimension) = scale;
    }

    /// <summary>Algorithm 1: descend greedily to the node's level, then on each level below search with efConstruction,
    /// pick neighbours by the heuristic (Algorithm 4), link both ways and shrink overfull lists with the same heuristic.
    /// Quantised, every distance of the construction is between int8 codes (as faiss's <c>IndexHNSWSQ</c>): the walks,
    /// the heuristic and the shrinking of full lists read a row's 576 bytes of codes instead of its 2 KiB of floats
    /// (at 512-d). At 10⁶ rows that took about a tenth off insertion's CPU, and recall@10 held (README, "Benchmarks").</summary>
    void Connect(int node, int level)
    {
        var entry = _entry;
        if (entry < 0)
        {
            Volatile.Write(ref _nodes, node + 1);
            Volatile.Write(ref _entry, Pack(level, node));
            return;
        }
        var ctx = _writer;
        if (_quantize)
        {
            SearchContext.Ensure(ref ctx.QueryCodes, Dimension);
            SearchContext.Ensure(ref ctx.RowCodes, Dimension);
            fixed (short* qc = ctx.QueryCodes)
            fixed (short* rc = ctx.RowCodes)
            {
                // The walk's query: the node's float vector encoded as int16 (finer than its own int8 codes).
                var query = new Int8Distance(_codes!, qc, EncodeQuery(new ReadOnlySpan<float>(_vectors.Row(node), Dimension), qc), Dimension);
                var pairs = new CodePairs(this, rc);
                Connect(ref query, ref pairs, node, level, entry);
            }
        }
        else
        {
            var pairs = new FloatPairs(this);
            var query = pairs.From(node);
            Connect(ref query, ref pairs, node, level, entry);
        }
    }

    void Connect<TDist, TPairs>(ref TDist dist, ref TPairs pairs, int node, int level, long entry)
        where TDist : struct, IDistance where TPairs : struct, IPairs<TDist>
    {
        var ep = (int)entry;
        var top = (int)(entry >> 32);
        var ctx = _writer;
        var epDist = dist.To(ep);
        for (var lc = top; lc > level; lc--) (ep, epDist) = Greedy(ref dist, ep, epDist, lc);
        // The node is complete (its lists are empty): publish it to exact scans before any list links to it.
        Volatile.Write(ref _nodes, node + 1);
        for (var lc = Math.Min(level, top); lc >= 0; lc--)
        {
            ctx.Begin(_vectors.Capacity);
            SearchLayer(ref dist, ctx, ep, epDist, _efConstruction, lc, null, restricted: false, long.MaxValue);
            var found = ctx.Results.Count;
            SearchContext.Ensure(ref ctx.Scratch, found);
            ctx.Results.Items.CopyTo(ctx.Scratch);
            var candidates = ctx.Scratch.AsSpan(0, found);
            candidates.Sort(default(ByDistance));
            SearchContext.Ensure(ref ctx.Selected, _m);
            var selected = SelectNeighbours<TDist, TPairs>(ref pairs, candidates, _m, ctx.Selected);
            var own = Links(node, lc);
            for (var i = 0; i < selected.Length; i++) own[1 + i] = selected[i].Node;
            Volatile.Write(ref own[0], selected.Length);
            foreach (var neighbour in selected) LinkBack<TDist, TPairs>(ref pairs, neighbour.Node, node, neighbour.Distance, lc, ctx);
            (ep, epDist) = (candidates[0].Node, candidates[0].Distance);
        }
        if (level > top) Volatile.Write(ref _entry, Pack(level, node));
    }

    /// <summary>Algorithm 4 (without extending or keeping pruned candidates, as hnswlib): take candidates nearest first,
    /// keeping one only if it is nearer the base than every one kept so far.</summary>
    static Span<Candidate> SelectNeighbours<TDist, TPairs>(ref TPairs pairs, ReadOnlySpan<Candidate> sorted, int max, Candidate[] into)
        where TDist : struct, IDistance where TPairs : struct, IPairs<TDist>
    {
        if (sorted.Length <= max)
        {
            sorted.CopyTo(into);
            return into.AsSpan(0, sorted.Length);
        }
        var kept = 0;
        foreach (var c in sorted)
        {
            if (kept == max) break;
            var from = pairs.From(c.Node);
            var good = true;
            for (var j = 0; j < kept && good; j++) good = from.To(into[j].Node) >= c.Distance;
            if (good) into[kept++] = c;
        }
        return into.AsSpan(0, kept);
    }

    void LinkBack<TDist, TPairs>(ref TPairs pairs, int neighbour, int node, float distance, int level, SearchContext ctx)
        where TDist : struct, IDistance where TPairs : struct, IPairs<TDist>
    {
        var list = Links(neighbour, level);
        var max = level == 0 ? _m0 : _m;
        var count = list[0];
        if (count < max)
        {
            Volatile.Write(ref list[1 + count], node);
            Volatile.Write(ref list[0], count + 1);
            return;
        }
        SearchContext.Ensure(ref ctx.Scratch2, max + 1);
        SearchContext.Ensure(ref ctx.Selected2, max);
        var candidates = ctx.Scratch2.AsSpan(0, count + 1);
        var from = pairs.From(neighbour);
        for (var i = 0; i < count; i++) from.Prefetch(list[1 + i]);
        for (var i = 0; i < count; i++) candidates[i] = new Candidate(from.To(list[1 + i]), list[1 + i]);
        candidates[count] = new Candidate(distance, node);
        candidates.Sort(default(ByDistance));
        var selected = SelectNeighbours<TDist, TPairs>(ref pairs, candidates, max, ctx.Selected2);
        for (var i = 0; i < selected.Length; i++) Volatile.Write(ref list[1 + i], selected[i].Node);
        Volatile.Write(ref list[0], selected.Length);
    }

    /// <summary>Distances from one row to others, the construction's kind: a row's <see cref="IDistance"/>.</summary>
    interface IPairs<TDist> where TDist : struct, IDistance
    {
        /// <summary>Distances from <paramref name="node"/>'s row; valid until the next call.</summary>
        TDist From(int node);
    }

    readonly struct FloatPairs(HnswVectorIndex index) : IPairs<FloatDistance>
    {
        public FloatDistance From(int node) => new(index._vectors, index._vectors.Row(node), index.Dimension);
    }

    /// <summary>int8 codes against int8 codes: the row's codes widened to int16 into <paramref name="scratch"/>
    /// (exactly), then the int16 × int8 kernel of the walks.</summary>
    readonly struct CodePairs(HnswVectorIndex index, short* scratch) : IPairs<Int8Distance>
    {
        public Int8Distance From(int node)
        {
            var into = scratch;
            var d = index.Dimension;
            var code = index._codes!.Row(node);
            var i = 0;
            for (; i <= d - Vector256<sbyte>.Count; i += Vector256<sbyte>.Count)
            {
                var (lower, upper) = Vector256.Widen(Vector256.Load(code + i));
                lower.Store(into + i);
                upper.Store(into + i + Vector256<short>.Count);
            }
            for (; i < d; i++) into[i] = code[i];
            return new Int8Distance(index._codes, into, *(float*)(code + d), d);
        }
    }

    // ---- search -----------------------------------------------------------------------------------------------------

    public VectorNeighbor[] Search(ReadOnlySpan<float> query, int k, Func<long, bool>? filter = null) => Search(query, k, EffectiveEfSearch, filter);

    /// <summary>Top-k with an explicit candidate list size (at least k is used).</summary>
    public VectorNeighbor[] Search(ReadOnlySpan<float> query, int k, int efSearch, Func<long, bool>? filter = null)
    {
        CheckQuery(query);
        if (k <= 0) return [];
        var live = Count;
        if (live == 0) return [];
        if (live <= _threshold) return ExactSearch(query, k, filter);
        var ef = Math.Max(efSearch, k);
        var restricted = filter is not null || Volatile.Read(ref _deleted) > 0;
        var budget = long.MaxValue;
        var selectivity = 1.0;
        if (filter is not null)
        {
            // Cost in sequential row reads: the walk makes about (unfiltered evaluations) / selectivity evaluations before
            // it holds ef accepted rows, each a random read (≈ 4 sequential ones); a scan calls the filter on every row
            // (≈ 1/10 of a row read) and reads the accepted rows in order.
            selectivity = Selectivity(filter);
            var scan = live * (selectivity + 0.1);
            var walk = 4 * Volatile.Read(ref _meanEvaluations) * ef / EffectiveEfSearch / selectivity;
            if (walk > scan) return ExactSearch(query, k, filter);
            budget = (long)(scan / 2);
        }
        var hits = GraphSearch(query, k, ef, filter, restricted, budget, selectivity);
        if (hits is null || hits.Length < Math.Min(k, filter is null ? live : k)) return ExactSearch(query, k, filter);
        return hits;
    }

    public VectorNeighbor[] RangeSearch(ReadOnlySpan<float> query, float maxDistance, Func<long, bool>? filter = null)
    {
        CheckQuery(query);
        var live = Count;
        if (live <= _threshold) return ExactRange(query, maxDistance, filter);
        for (var k = RangeProbe; ; k *= 2)
        {
            if (k > Math.Max(_threshold, live / 8)) return ExactRange(query, maxDistance, filter);
            // The first probe walks with ef = k (16): a range query's rows are the query's nearest, which a short walk
            // reaches; only a probe that comes back full (its k-th row still in range) widens, with ef ≥ efSearch.
            var hits = Search(query, k, k == RangeProbe ? k : Math.Max(EffectiveEfSearch, k), filter);
            if (hits.Length < k || hits[^1].Distance > maxDistance)
            {
                var inRange = hits.Where(h => h.Distance <= maxDistance).ToArray();
                Array.Sort(inRange, (a, b) => a.Id.CompareTo(b.Id));
                return inRange;
            }
        }
    }

    /// <summary>The share of live rows the filter accepts, from up to 128 rows spread by the golden ratio (so that no
    /// period in the ids, such as "even ids only", aliases with the sample), at least 1/256 so it can divide.</summary>
    double Selectivity(Func<long, bool> filter)
    {
        var nodes = Volatile.Read(ref _nodes);
        int seen = 0, accepted = 0;
        var position = 0.5;
        for (var i = 0; i < Math.Min(nodes, SelectivitySamples); i++, position += 0.6180339887498949)
        {
            var meta = _meta.Row((int)(position % 1 * nodes));
            if (meta->Deleted != 0) continue;
            seen++;
            if (filter(meta->Id)) accepted++;
        }
        return Math.Max(1.0 / 256, (accepted + 0.5) / (seen + 1.0));
    }

    VectorNeighbor[]? GraphSearch(ReadOnlySpan<float> query, int k, int ef, Func<long, bool>? filter, bool restricted, long budget, double selectivity)
    {
        var entry = Volatile.Read(ref _entry);
        if (entry < 0) return [];
        var ctx = SearchContext.Current;
        long evaluations;
        fixed (float* q = query)
        {
            if (_quantize)
            {
                SearchContext.Ensure(ref ctx.QueryCodes, Dimension);
                fixed (short* qc = ctx.QueryCodes)
                {
                    var dist = new Int8Distance(_codes!, qc, EncodeQuery(query, qc), Dimension);
                    evaluations = Walk(ref dist, ctx, entry, ef, filter, restricted, budget);
                }
            }
            else
            {
                var dist = new FloatDistance(_vectors, q, Dimension);
                evaluations = Walk(ref dist, ctx, entry, ef, filter, restricted, budget);
            }
            if (evaluations < 0) return null;
            // A running mean of what a walk costs at the default ef without a filter (a filtered walk costs ≈ 1/selectivity more).
            Volatile.Write(ref _meanEvaluations, 0.95 * _meanEvaluations + 0.05 * evaluations * selectivity * EffectiveEfSearch / ef);
            var found = ctx.Results.Items;
            SearchContext.Ensure(ref ctx.Neighbors, found.Length);
            var hits = ctx.Neighbors.AsSpan(0, found.Length);
            for (var i = 0; i < found.Length; i++)
            {
                var node = found[i].Node;
                var d = _quantize ? 1 - Kernels.Dot(q, _vectors.Row(node), Dimension) : found[i].Distance;
                hits[i] = new VectorNeighbor(_meta.Row(node)->Id, d);
            }
            hits.Sort(default(ByDistanceThenId));
            GC.KeepAlive(this);
            return hits[..Math.Min(k, hits.Length)].ToArray();
        }
    }

    /// <summary>Quantises the query to int16 with scale max|q| / Q, Q small enough that Σ q·c fits in an int.</summary>
    float EncodeQuery(ReadOnlySpan<float> query, short* into)
    {
        var max = Math.Abs(TensorPrimitives.MaxMagnitude(query));
        if (max == 0) { new Span<short>(into, Dimension).Clear(); return 0; }
        var q = Math.Min(16383, int.MaxValue / (127L * Dimension));
        var inverse = q / max;
        for (var i = 0; i < query.Length; i++) into[i] = (short)MathF.Round(query[i] * inverse);
        return max / q;
    }

    long Walk<TDist>(ref TDist dist, SearchContext ctx, long entry, int ef, Func<long, bool>? filter, bool restricted, long budget)
        where TDist : struct, IDistance
    {
        var ep = (int)entry;
        var epDist = dist.To(ep);
        for (var lc = (int)(entry >> 32); lc > 0; lc--) (ep, epDist) = Greedy(ref dist, ep, epDist, lc);
        ctx.Begin(_vectors.Capacity);
        return SearchLayer(ref dist, ctx, ep, epDist, ef, 0, filter, restricted, budget);
    }

    /// <summary>Greedy search with ef = 1 on one level: move to the nearest neighbour while it is nearer.</summary>
    (int, float) Greedy<TDist>(ref TDist dist, int ep, float epDist, int level) where TDist : struct, IDistance
    {
        for (var changed = true; changed;)
        {
            changed = false;
            var list = Links(ep, level);
            var count = Math.Min(Volatile.Read(ref list[0]), _m);
            for (var i = 1; i <= count; i++)
            {
                var n = list[i];
                var d = dist.To(n);
                if (d < epDist) (ep, epDist, changed) = (n, d, true);
            }
        }
        return (ep, epDist);
    }

    /// <summary>
    /// Algorithm 2 on one level, leaving up to ef nearest rows in <c>ctx.Results</c>. Restricted (filter or tombstones):
    /// every row routes, only admitted rows enter the results, and the walk goes on until it holds ef of them (as hnswlib).
    /// Returns the distance evaluations made, or −1 when they passed <paramref name="budget"/>.
    /// </summary>
    long SearchLayer<TDist>(ref TDist dist, SearchContext ctx, int ep, float epDist, int ef, int level, Func<long, bool>? filter, bool restricted, long budget)
        where TDist : struct, IDistance
    {
        var visited = ctx.Visited;
        var epoch = ctx.Epoch;
        var candidates = ctx.Candidates;
        var results = ctx.Results;
        var max = level == 0 ? _m0 : _m;
        SearchContext.Ensure(ref ctx.Pending, max);
        var pending = ctx.Pending;
        if ((uint)ep < (uint)visited.Length) visited[ep] = epoch;
        candidates.Push(epDist, ep);
        if (!restricted || Admits(ep, filter)) results.Push(epDist, ep);
        var bound = results.Count > 0 ? results.Top.Distance : float.PositiveInfinity;
        long evaluations = 1;
        while (candidates.Count > 0)
        {
            var current = candidates.Top;
            if (current.Distance > bound && (results.Count >= ef || !restricted)) break;
            candidates.Pop();
            var list = Links(current.Node, level);
            var count = Math.Min(Volatile.Read(ref list[0]), max);
            // Unvisited neighbours first, then their distances, fetching the next one's row while computing this one's.
            var fresh = 0;
            for (var i = 1; i <= count; i++)
            {
                var n = list[i];
                if ((uint)n >= (uint)visited.Length || visited[n] == epoch) continue;
                visited[n] = epoch;
                pending[fresh++] = n;
            }
            for (var i = 0; i < Math.Min(fresh, PrefetchAhead); i++) dist.Prefetch(pending[i]);
            for (var i = 0; i < fresh; i++)
            {
                var n = pending[i];
                if (i + PrefetchAhead < fresh) dist.Prefetch(pending[i + PrefetchAhead]);
                var d = dist.To(n);
                if (results.Count < ef || d < bound)
                {
                    candidates.Push(d, n);
                    if (!restricted || Admits(n, filter))
                    {
                        results.Push(d, n);
                        if (results.Count > ef) results.Pop();
                        bound = results.Top.Distance;
                    }
                }
            }
            evaluations += fresh;
            if (evaluations > budget) return -1;
        }
        return evaluations;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool Admits(int node, Func<long, bool>? filter)
    {
        var meta = _meta.Row(node);
        return meta->Deleted == 0 && (filter is null || filter(meta->Id));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    int* Links(int node, int level) => level == 0 ? _links0.Row(node) : _upper.Row(_meta.Row(node)->UpperSlot + level - 1);

    /// <summary>Top-k by scanning every row (the small-collection and fallback path).</summary>
    internal VectorNeighbor[] ExactSearch(ReadOnlySpan<float> query, int k, Func<long, bool>? filter)
    {
        Interlocked.Increment(ref _exactScans);
        var top = new TopK<float>(k);
        var nodes = Volatile.Read(ref _nodes);
        fixed (float* q = query)
            for (var node = 0; node < nodes; node++)
            {
                var meta = _meta.Row(node);
                if (meta->Deleted != 0 || (filter is not null && !filter(meta->Id))) continue;
                var d = 1 - Kernels.Dot(q, _vectors.Row(node), Dimension);
                if (top.Admits(d)) top.Offer(meta->Id, d);
            }
        GC.KeepAlive(this);
        return Array.ConvertAll(top.Drain(), h => new VectorNeighbor(h.Id, h.D));
    }

    VectorNeighbor[] ExactRange(ReadOnlySpan<float> query, float maxDistance, Func<long, bool>? filter)
    {
        Interlocked.Increment(ref _exactScans);
        var hits = new List<VectorNeighbor>();
        var nodes = Volatile.Read(ref _nodes);
        fixed (float* q = query)
            for (var node = 0; node < nodes; node++)
            {
                var meta = _meta.Row(node);
                if (meta->Deleted != 0) continue;
                var d = 1 - Kernels.Dot(q, _vectors.Row(node), Dimension);
                if (d <= maxDistance && (filter is null || filter(meta->Id))) hits.Add(new VectorNeighbor(meta->Id, d));
            }
        GC.KeepAlive(this);
        hits.Sort((a, b) => a.Id.CompareTo(b.Id));
        return [.. hits];
    }

    // ---- remove, read back ----------------------------------------------------------------------------------------

    public int Remove(IEnumerable<long> ids)
    {
        lock (_writeLock)
        {
            var removed = 0;
            foreach (var id in ids)
            {
                if (!_nodeOf.TryRemove(id, out var node)) continue;
                Volatile.Write(ref _meta.Row(node)->Deleted, (byte)1);
                removed++;
            }
            Volatile.Write(ref _deleted, _deleted + removed);
            Volatile.Write(ref _live, _live - removed);
            return removed;
        }
    }

    public bool TryGetVector(long id, Span<float> destination)
    {
        if (!_nodeOf.TryGetValue(id, out var node)) return false;
        new ReadOnlySpan<float>(_vectors.Row(node), Dimension).CopyTo(destination);
        GC.KeepAlive(this);
        return true;
    }

    public long[] Ids()
    {
        var ids = _nodeOf.Keys.ToArray();
        Array.Sort(ids);
        return ids;
    }

    // ---- save, load -------------------------------------------------------------------------------------------------

    /// <summary>Writes magic "MHNW", format version 1, the options, the node count and entry point, then per node: id,
    /// level, tombstone, the float vector and each level's list (count, node numbers). Little-endian. Codes are re-derived on load.</summary>
    public void Save(Stream stream)
    {
        lock (_writeLock)
        {
            using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Write(Dimension);
            w.Write(_m);
            w.Write(_m0);
            w.Write(_efConstruction);
            w.Write(EfSearch);
            w.Write(_threshold);
            w.Write(_quantize);
            w.Write(_options.Seed);
            w.Write(_nodes);
            w.Write(_entry);
            for (var node = 0; node < _nodes; node++)
            {
                var meta = _meta.Row(node);
                w.Write(meta->Id);
                w.Write(meta->Level);
                w.Write(meta->Deleted);
                w.Write(new ReadOnlySpan<byte>(_vectors.Row(node), Dimension * sizeof(float)));
                for (var l = 0; l <= meta->Level; l++)
                {
                    var list = Links(node, l);
                    w.Write(new ReadOnlySpan<byte>(list, (1 + list[0]) * sizeof(int)));
                }
            }
            w.Write(Magic);
        }
        GC.KeepAlive(this);
    }

    /// <summary>Reads an index written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">Not an HNSW index, an unknown version, inconsistent, or truncated.</exception>
    public static HnswVectorIndex Load(Stream stream) => Load(stream, null);

    /// <summary>Reads an index, changing options that do not shape the graph (quantisation, ef, the exact threshold):
    /// the same graph traversed another way, without building it again (tests and measurement).</summary>
    internal static HnswVectorIndex Load(Stream stream, Func<HnswOptions, HnswOptions>? adjust)
    {
        using var r = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) throw new InvalidDataException("not an HNSW index");
            if (r.ReadInt32() is var version && version != FormatVersion) throw new InvalidDataException($"HNSW format version {version} is unknown");
            var dimension = r.ReadInt32();
            if (dimension is <= 0 or > 1 << 16) throw new InvalidDataException($"dimension {dimension}");
            HnswOptions options;
            try
            {
                options = new HnswOptions
                {
                    M = r.ReadInt32(), M0 = r.ReadInt32(), EfConstruction = r.ReadInt32(), EfSearch = r.ReadInt32(),
                    ExactSearchThreshold = r.ReadInt32(), Quantize = r.ReadBoolean(), Seed = r.ReadInt32(),
                };
                options.Validate();
                if (adjust is not null && adjust(options) is var adjusted && adjusted != options)
                {
                    if ((adjusted.M, adjusted.EffectiveM0, adjusted.EfConstruction) != (options.M, options.EffectiveM0, options.EfConstruction))
                        throw new ArgumentException("only options that do not shape the graph can change on load", nameof(adjust));
                    adjusted.Validate();
                    options = adjusted;
                }
            }
            catch (ArgumentOutOfRangeException ex) { throw new InvalidDataException("HNSW options are out of range", ex); }
            var nodes = r.ReadInt32();
            var entry = r.ReadInt64();
            if (nodes < 0) throw new InvalidDataException($"{nodes} nodes");
            var index = new HnswVectorIndex(dimension, options);
            index.Fill(r, nodes, entry);
            if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) throw new InvalidDataException("HNSW index has no end mark");
            return index;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("HNSW index is truncated", ex);
        }
    }

    void Fill(BinaryReader r, int nodes, long entry)
    {
        var vector = new float[Dimension];
        var maxLevel = -1;
        for (var node = 0; node < nodes; node++)
        {
            var id = r.ReadInt64();
            var level = r.ReadByte();
            var deleted = r.ReadByte();
            if (level > MaxLevel || deleted > 1) throw new InvalidDataException($"node {node} is malformed");
            r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(vector.AsSpan()));
            WriteNode(node, id, level, deleted == 1, vector);
            for (var l = 0; l <= level; l++)
            {
                var list = Links(node, l);
                var count = r.ReadInt32();
                if (count < 0 || count > (l == 0 ? _m0 : _m)) throw new InvalidDataException($"node {node} has {count} links on level {l}");
                r.BaseStream.ReadExactly(new Span<byte>(list + 1, count * sizeof(int)));
                list[0] = count;
            }
            if (deleted == 0 && !_nodeOf.TryAdd(id, node)) throw new InvalidDataException($"id {id} appears twice");
            maxLevel = Math.Max(maxLevel, level);
        }
        for (var node = 0; node < nodes; node++)
            for (var l = 0; l <= _meta.Row(node)->Level; l++)
            {
                var list = Links(node, l);
                for (var i = 1; i <= list[0]; i++)
                    if ((uint)list[i] >= (uint)nodes || _meta.Row(list[i])->Level < l) throw new InvalidDataException($"node {node} links to {list[i]} on level {l}");
            }
        var entryNode = (int)entry;
        if (nodes == 0 ? entry != -1 : (entryNode < 0 || entryNode >= nodes || (int)(entry >> 32) != maxLevel || _meta.Row(entryNode)->Level != maxLevel))
            throw new InvalidDataException("HNSW entry point is inconsistent");
        _nodes = nodes;
        _levels = new Random(_options.Seed ^ nodes);
        _live = _nodeOf.Count;
        _deleted = nodes - _live;
        _entry = entry;
    }

    static long Pack(int level, int node) => ((long)level << 32) | (uint)node;

    void CheckQuery(ReadOnlySpan<float> query)
    {
        if (query.Length != Dimension) throw new ArgumentException($"expected {Dimension} values, got {query.Length}", nameof(query));
    }

    // ---- distances ------------------------------------------------------------------------------------------------

    interface IDistance
    {
        float To(int node);
        void Prefetch(int node);
    }

    /// <summary>Prefetches a whole row (every 64-byte line), so the row streams in while the previous one is compared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PrefetchRow(byte* row, int bytes)
    {
        if (!Sse.IsSupported) return;
        for (var offset = 0; offset < bytes; offset += 64) Sse.Prefetch0(row + offset);
    }

    /// <summary>Frees the native rows now rather than at finalisation (a 10⁶ × 512-d index holds about 2.2 GB). The
    /// owner calls it once nothing searches or adds any more; the index is unusable afterwards.</summary>
    public void Dispose()
    {
        lock (_writeLock)
        {
            _vectors.Free();
            _codes?.Free();
            _links0.Free();
            _upper.Free();
            _meta.Free();
            _nodeOf.Clear();
            _nodes = _live = 0;
            _entry = -1;
        }
    }

    readonly struct FloatDistance(SegmentedRows<float> rows, float* query, int dimension) : IDistance
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float To(int node) => 1 - Kernels.Dot(query, rows.Row(node), dimension);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(int node) => PrefetchRow((byte*)rows.Row(node), dimension * sizeof(float));
    }

    /// <summary>1 − s_q·s_x·Σ q·c: int16 query codes against int8 row codes, the row's scale stored after its codes.</summary>
    readonly struct Int8Distance(SegmentedRows<sbyte> rows, short* query, float queryScale, int dimension) : IDistance
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float To(int node)
        {
            var code = rows.Row(node);
            return 1 - queryScale * *(float*)(code + dimension) * Kernels.DotI8(query, code, dimension);
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Prefetch(int node) => PrefetchRow((byte*)rows.Row(node), dimension + sizeof(float));
    }

    readonly struct ByDistance : IComparer<Candidate>
    {
        public int Compare(Candidate a, Candidate b) => a.Distance.CompareTo(b.Distance);
    }

    readonly struct ByDistanceThenId : IComparer<VectorNeighbor>
    {
        public int Compare(VectorNeighbor a, VectorNeighbor b)
        {
            var c = a.Distance.CompareTo(b.Distance);
            return c != 0 ? c : a.Id.CompareTo(b.Id);
        }
    }
}
