namespace Media.Detection;

/// <summary>
/// Admits the items of each correlation in their sequence order (0, 1, 2, …), whatever order they arrive in.
/// An item waits until every earlier item of its correlation is done, or until <see cref="GapTimeout"/> passes
/// (an earlier item lost or stuck); it then goes ahead and the gap is skipped — a late item is admitted at once.
/// Items without a sequence are admitted immediately. Thread-safe.
/// <para>The order is kept within one process. With several detect nodes on a shared catalog a submitter's items are
/// spread over the nodes, and a node would wait for gaps that another node fills: there the gate is made with
/// <c>ordered: false</c> and admits every item at once, and items are decided in the order they reach the catalog's
/// detection lock (of two near-duplicate copies, the one catalogued first is the original).</para>
/// </summary>
/// <param name="gapTimeout">How long an item waits for an earlier one.</param>
/// <param name="ordered">False: admit every item at once (several detect nodes).</param>
public sealed class SequenceGate(TimeSpan gapTimeout, bool ordered = true)
{
    sealed class Stream
    {
        public long Next;
        public readonly SortedSet<long> Done = [];
        public readonly Dictionary<long, TaskCompletionSource> Waiting = [];
    }

    readonly Dictionary<Guid, Stream> _streams = [];
    readonly Lock _gate = new();

    public TimeSpan GapTimeout { get; } = gapTimeout;

    /// <summary>Completes when item <paramref name="sequence"/> of <paramref name="correlation"/> may proceed.</summary>
    public async Task WaitTurnAsync(Guid correlation, long? sequence, CancellationToken cancel = default)
    {
        if (sequence is not { } seq || !ordered) return;
        Task turn;
        lock (_gate)
        {
            var s = StreamOf(correlation);
            if (seq <= s.Next) return;
            if (!s.Waiting.TryGetValue(seq, out var tcs)) s.Waiting[seq] = tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            turn = tcs.Task;
        }
        try
        {
            await turn.WaitAsync(GapTimeout, cancel);
        }
        catch (TimeoutException)
        {
            lock (_gate)
            {
                // Skip the gap: everything before this item counts as passed.
                var s = StreamOf(correlation);
                s.Waiting.Remove(seq);
                if (s.Next < seq) s.Next = seq;
                Advance(s);
            }
        }
    }

    /// <summary>Marks item <paramref name="sequence"/> done, admitting the next one.</summary>
    public void Done(Guid correlation, long? sequence)
    {
        if (sequence is not { } seq || !ordered) return;
        lock (_gate)
        {
            var s = StreamOf(correlation);
            if (seq >= s.Next) s.Done.Add(seq);
            Advance(s);
        }
    }

    Stream StreamOf(Guid correlation)
    {
        if (!_streams.TryGetValue(correlation, out var s)) _streams[correlation] = s = new Stream();
        return s;
    }

    static void Advance(Stream s)
    {
        while (s.Done.Remove(s.Next)) s.Next++;
        foreach (var seq in s.Waiting.Keys.Where(k => k <= s.Next).ToArray())
        {
            s.Waiting[seq].TrySetResult();
            s.Waiting.Remove(seq);
        }
    }
}
