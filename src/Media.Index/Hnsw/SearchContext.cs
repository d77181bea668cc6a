using System.Runtime.CompilerServices;

namespace Media.Index.Hnsw;

/// <summary>A candidate: a node and its distance to the query.</summary>
readonly record struct Candidate(float Distance, int Node);

/// <summary>A binary heap of candidates over a reusable array: nearest on top (<c>max</c> false) or farthest on top.</summary>
sealed class CandidateHeap(bool max)
{
    Candidate[] _items = new Candidate[64];

    public int Count { get; private set; }
    public Candidate Top => _items[0];
    public ReadOnlySpan<Candidate> Items => _items.AsSpan(0, Count);
    public void Clear() => Count = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool Above(float a, float b) => max ? a > b : a < b;

    public void Push(float distance, int node)
    {
        if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        var items = _items;
        var i = Count++;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!Above(distance, items[parent].Distance)) break;
            items[i] = items[parent];
            i = parent;
        }
        items[i] = new Candidate(distance, node);
    }

    public Candidate Pop()
    {
        var items = _items;
        var top = items[0];
        var last = items[--Count];
        var n = Count;
        var i = 0;
        while (true)
        {
            var child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && Above(items[child + 1].Distance, items[child].Distance)) child++;
            if (!Above(items[child].Distance, last.Distance)) break;
            items[i] = items[child];
            i = child;
        }
        if (n > 0) items[i] = last;
        return top;
    }
}

/// <summary>
/// Per-thread search state, reused across queries so a search allocates nothing but its answer: the visited set as an
/// epoch-stamped <c>ushort</c> array (a node is visited when its stamp equals this query's epoch; the array is cleared
/// once per 65,535 queries), the two heaps, and scratch space for the quantised query, the answer and (for the writer) neighbour selection.
/// </summary>
sealed class SearchContext
{
    [ThreadStatic] static SearchContext? t_current;
    public static SearchContext Current => t_current ??= new SearchContext();

    public ushort[] Visited = [];
    public ushort Epoch;
    public readonly CandidateHeap Candidates = new(max: false);
    public readonly CandidateHeap Results = new(max: true);
    public short[] QueryCodes = [];
    /// <summary>A row's int8 codes widened to int16 (the writer's code-to-code distances).</summary>
    public short[] RowCodes = [];
    public int[] Pending = new int[64];
    public Candidate[] Scratch = new Candidate[64];
    public Candidate[] Selected = new Candidate[64];
    public Candidate[] Scratch2 = new Candidate[64];
    public Candidate[] Selected2 = new Candidate[64];
    public VectorNeighbor[] Neighbors = new VectorNeighbor[64];

    /// <summary>Starts a query over nodes below <paramref name="capacity"/>; nodes above it are treated as not there.</summary>
    public void Begin(int capacity)
    {
        if (Visited.Length < capacity) Visited = new ushort[Math.Max(capacity, Visited.Length * 2)];
        if (++Epoch == 0)
        {
            Array.Clear(Visited);
            Epoch = 1;
        }
        Candidates.Clear();
        Results.Clear();
    }

    public static void Ensure<T>(ref T[] array, int length)
    {
        if (array.Length < length) array = new T[Math.Max(length, array.Length * 2)];
    }
}
