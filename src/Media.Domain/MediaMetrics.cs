using System.Diagnostics.Metrics;

namespace Media.Domain;

/// <summary>
/// The service's own OpenTelemetry-compatible instruments, on the meter <see cref="MeterName"/> (the HTTP server exports
/// them as Prometheus on <c>/metrics</c>, where dots become underscores and counters get <c>_total</c>). Each process
/// records what it does itself: items are counted where detection produces their result, encode and inference latency
/// where encoding runs, queue depth where submissions wait for their result.
/// <list type="table">
/// <item><term><c>media.items</c></term><description>counter, tag <c>status</c> (<c>indexed</c>, <c>duplicate</c>, <c>rejected</c>): results produced</description></item>
/// <item><term><c>media.rejected</c></term><description>counter, tags <c>reason</c> (<see cref="ReasonOf"/>) and <c>stage</c> (<c>detect</c>: a rejected result; <c>api</c>: refused at the door, never submitted)</description></item>
/// <item><term><c>media.encode.duration</c></term><description>histogram, seconds per encode batch (fetch, hash, decode, embed)</description></item>
/// <item><term><c>media.inference.duration</c></term><description>histogram, seconds per ONNX Runtime image batch</description></item>
/// <item><term><c>media.inference.batch.size</c></term><description>histogram, images per ONNX Runtime batch</description></item>
/// <item><term><c>media.detect.duration</c></term><description>histogram, seconds per item in detection (duplicates, rules, catalog commit, indexing)</description></item>
/// <item><term><c>media.queue.depth</c></term><description>gauge, tag <c>queue</c>: items waiting (<c>submissions</c>: accepted by this process's API and awaiting their result)</description></item>
/// </list>
/// </summary>
public static class MediaMetrics
{
    /// <summary>The meter's name: <c>Media</c>.</summary>
    public const string MeterName = "Media";

    static readonly Meter Meter = new(MeterName, "1.0");

    /// <summary>Latency buckets, seconds: 1 ms to 30 s.</summary>
    static readonly InstrumentAdvice<double> Seconds = new() { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] };

    /// <summary>Results produced, by <c>status</c>.</summary>
    public static readonly Counter<long> Items = Meter.CreateCounter<long>("media.items", "{item}", "Items that got their result, by status");

    /// <summary>Rejections, by <c>reason</c> and <c>stage</c>.</summary>
    public static readonly Counter<long> Rejected = Meter.CreateCounter<long>("media.rejected", "{item}", "Items rejected, by reason category and stage");

    /// <summary>Seconds per encode batch.</summary>
    public static readonly Histogram<double> EncodeDuration = Meter.CreateHistogram<double>("media.encode.duration", "s", "Encode batch latency", advice: Seconds);

    /// <summary>Seconds per ONNX Runtime image batch.</summary>
    public static readonly Histogram<double> InferenceDuration = Meter.CreateHistogram<double>("media.inference.duration", "s", "ONNX Runtime image batch latency", advice: Seconds);

    /// <summary>Images per ONNX Runtime batch.</summary>
    public static readonly Histogram<int> InferenceBatchSize = Meter.CreateHistogram<int>("media.inference.batch.size", "{image}", "Images per ONNX Runtime batch",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64] });

    /// <summary>Seconds per item in detection.</summary>
    public static readonly Histogram<double> DetectDuration = Meter.CreateHistogram<double>("media.detect.duration", "s", "Detection latency per item", advice: Seconds);

    static readonly List<Func<IEnumerable<Measurement<long>>>> QueueSources = [];
    static readonly Lock QueueGate = new();
    static readonly ObservableGauge<long> QueueDepth = Meter.CreateObservableGauge("media.queue.depth", ObserveQueues, "{item}", "Items waiting, by queue");

    /// <summary>Adds a source of <c>media.queue.depth</c> measurements (each tagged with its <c>queue</c>); dispose the result to remove it.</summary>
    public static IDisposable ObserveQueue(Func<IEnumerable<Measurement<long>>> source)
    {
        lock (QueueGate) QueueSources.Add(source);
        return new Unregister(source);
    }

    static IEnumerable<Measurement<long>> ObserveQueues()
    {
        Func<IEnumerable<Measurement<long>>>[] sources;
        lock (QueueGate) sources = [.. QueueSources];
        return sources.SelectMany(s => s()).ToArray();
    }

    sealed class Unregister(Func<IEnumerable<Measurement<long>>> source) : IDisposable
    {
        public void Dispose()
        {
            lock (QueueGate) QueueSources.Remove(source);
        }
    }

    /// <summary>
    /// A rejection reason (free text from a decoder, the fetcher or a limit) folded into a few low-cardinality categories
    /// for metric tags: <c>too_many_pixels</c>, <c>too_large</c>, <c>empty</c>, <c>unsupported</c>, <c>corrupt</c>,
    /// <c>timeout</c>, <c>fetch</c>, <c>refused_source</c>, <c>other</c>.
    /// </summary>
    public static string ReasonOf(string? error)
    {
        var e = error ?? "";
        bool Has(string s) => e.Contains(s, StringComparison.OrdinalIgnoreCase);
        if (Has("-pixel limit") || Has("decompression bomb")) return "too_many_pixels";
        if (Has("-byte limit") || Has("too large")) return "too_large";
        if (Has("empty")) return "empty";
        if (Has("refused") || Has("never a server path") || Has("not allowed")) return "refused_source";
        if (Has("timed out") || Has("timeout")) return "timeout";
        if (Has("download") || Has("HTTP ")) return "fetch";
        if (Has("unrecognised") || Has("unsupported") || Has("not supported")) return "unsupported";
        if (Has("corrupt") || Has("truncated") || Has("invalid")) return "corrupt";
        return "other";
    }
}
