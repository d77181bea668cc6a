using System.Diagnostics;
using System.Threading.Channels;
using Media.Catalog;
using Media.Contracts.V1;

namespace Media.Detection;

/// <summary>One batch the <see cref="DetectionQueue"/> decided and committed.</summary>
/// <param name="Items">Items in it.</param>
/// <param name="Elapsed">From the start of its first decision to its commit: how long each of its items waited on the
/// detect thread (on top of the batch before it).</param>
/// <param name="GcPause">Garbage-collection pauses within <paramref name="Elapsed"/>.</param>
/// <param name="Commit">Of <paramref name="Elapsed"/>, the catalog commit.</param>
public readonly record struct DetectionBatch(int Items, TimeSpan Elapsed, TimeSpan GcPause, TimeSpan Commit);

/// <summary>
/// Group commit for concurrent callers (the detect consumers): the items handed in by <see cref="ProcessAsync"/> are
/// decided in the order handed in, on a thread of the queue's own, in batches of whatever is waiting, up to
/// <see cref="MaxBatch"/> items (<see cref="DuplicateDetector.ProcessBatch"/>). A burst then commits to the catalog once
/// per batch instead of once per item (at 10⁶ items, 12–20% more items per second: README, "Benchmarks"), and a lone
/// item is never held back to wait for others: its batch is itself. Each task completes after its item's batch committed,
/// on the thread pool, never on the queue's thread.
/// </summary>
public sealed class DetectionQueue : IDisposable
{
    readonly record struct Pending(MediaEncoded Item, TaskCompletionSource<SubmissionRecord> Done);

    readonly DuplicateDetector _detector;
    readonly Action<DetectionBatch>? _onBatch;
    readonly Channel<Pending> _channel = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    readonly Thread _thread;

    /// <param name="detector">Decides the batches.</param>
    /// <param name="maxBatch">The most items committed together. Default 16: past it the commit's share of an item is
    /// small, and the items of a batch wait for all of its decisions (about 1 ms each at 10⁶ items).</param>
    /// <param name="onBatch">Told of every batch, on the queue's thread (the index benchmark times them).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBatch"/> is below 1.</exception>
    public DetectionQueue(DuplicateDetector detector, int maxBatch = 16, Action<DetectionBatch>? onBatch = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _detector = detector;
        MaxBatch = maxBatch;
        _onBatch = onBatch;
        _thread = new Thread(Run) { IsBackground = true, Name = "detect" };
        _thread.Start();
    }

    /// <summary>The most items decided and committed as one batch.</summary>
    public int MaxBatch { get; }

    /// <summary>
    /// Queues an item behind those handed in before it; the task gives its recorded result (as
    /// <see cref="DuplicateDetector.Process"/>) once it is committed, or fails as <see cref="DuplicateDetector.Process"/>
    /// would have thrown. The item's place in the decision order is taken when this returns.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The queue is disposed.</exception>
    public Task<SubmissionRecord> ProcessAsync(MediaEncoded item)
    {
        var done = new TaskCompletionSource<SubmissionRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_channel.Writer.TryWrite(new Pending(item, done))) throw new ObjectDisposedException(nameof(DetectionQueue));
        return done.Task;
    }

    void Run()
    {
        var batch = new List<Pending>(MaxBatch);
        var items = new List<MediaEncoded>(MaxBatch);
        while (_channel.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (batch.Count < MaxBatch && _channel.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                items.Add(pending.Item);
            }
            var started = Stopwatch.GetTimestamp();
            var paused = GC.GetTotalPauseDuration();
            try
            {
                var outcomes = _detector.ProcessBatch(items);
                var timing = new DetectionBatch(batch.Count, Stopwatch.GetElapsedTime(started), GC.GetTotalPauseDuration() - paused, _detector.LastCommitTime);
                for (var i = 0; i < batch.Count; i++)
                    if (outcomes[i].Error is { } error) batch[i].Done.TrySetException(error);
                    else batch[i].Done.TrySetResult(outcomes[i].Result!);
                _onBatch?.Invoke(timing);
            }
            catch (Exception ex)
            {
                foreach (var p in batch) p.Done.TrySetException(ex);
            }
            batch.Clear();
            items.Clear();
        }
    }

    /// <summary>Decides what was handed in, then stops the queue's thread.</summary>
    public void Dispose()
    {
        _channel.Writer.TryComplete();
        _thread.Join();
    }
}
