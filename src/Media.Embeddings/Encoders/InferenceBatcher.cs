using System.Threading.Channels;

namespace Media.Embeddings.Encoders;

/// <summary>
/// Keeps one image encoder busy: callers on any thread submit preprocessed tensors <c>[3, S, S]</c>; a single
/// inference loop takes whatever is queued (up to <see cref="MaxBatch"/>) and runs it as one ONNX Runtime batch.
/// While a batch runs, callers decode and preprocess the next items, so decoding overlaps inference.
/// The queue is bounded (4 batches) so producers cannot run away from the encoder.
/// </summary>
public sealed class InferenceBatcher : IAsyncDisposable
{
    readonly ImageEncoder _encoder;
    readonly Channel<(float[] Tensor, TaskCompletionSource<ImageEncoding> Done)> _queue;
    readonly Task _loop;

    /// <summary>Largest batch handed to ONNX Runtime.</summary>
    public int MaxBatch { get; }

    public InferenceBatcher(ImageEncoder encoder, int maxBatch = 16)
    {
        _encoder = encoder;
        MaxBatch = Math.Max(1, maxBatch);
        _queue = Channel.CreateBounded<(float[], TaskCompletionSource<ImageEncoding>)>(new BoundedChannelOptions(4 * MaxBatch) { SingleReader = true });
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Embeds one preprocessed image; completes when its batch has run.</summary>
    public async Task<float[]> EmbedAsync(float[] tensor, CancellationToken cancel = default) => (await EncodeAsync(tensor, cancel)).Embedding;

    /// <summary>Embeds one preprocessed image <c>[3, S, S]</c> and, with a classifier head, classifies it in the same run; completes when its batch has run.</summary>
    /// <exception cref="ArgumentException">The tensor does not hold 3·S·S values.</exception>
    public async Task<ImageEncoding> EncodeAsync(float[] tensor, CancellationToken cancel = default)
    {
        if (tensor.Length != _encoder.ValuesPerImage) throw new ArgumentException($"expected {_encoder.ValuesPerImage} values", nameof(tensor));
        var done = new TaskCompletionSource<ImageEncoding>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _queue.Writer.WriteAsync((tensor, done), cancel);
        return await done.Task.WaitAsync(cancel);
    }

    async Task RunAsync()
    {
        var per = _encoder.ValuesPerImage;
        var batch = new List<(float[] Tensor, TaskCompletionSource<ImageEncoding> Done)>(MaxBatch);
        var buffer = new float[MaxBatch * per];
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item)) batch.Add(item);
            if (batch.Count == 0) continue;
            try
            {
                for (var i = 0; i < batch.Count; i++) batch[i].Tensor.CopyTo(buffer, i * per);
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var vectors = _encoder.EncodeWithClasses(buffer, batch.Count);
                Media.Domain.MediaMetrics.InferenceDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
                Media.Domain.MediaMetrics.InferenceBatchSize.Record(batch.Count);
                for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(vectors[i]);
            }
            catch (Exception ex)
            {
                foreach (var (_, done) in batch) done.TrySetException(ex);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }
}
