using Media.Catalog;
using Media.Contracts.V1;
using Media.Domain;
using Media.Index;

namespace Media.Detection;

/// <summary>Anomaly settings (configuration <c>Media:Detection:Anomaly</c>).</summary>
public sealed record AnomalyOptions
{
    /// <summary>Neighbours averaged by the score.</summary>
    public int K { get; init; } = 10;
    /// <summary>The threshold is this quantile of the indexed population's scores.</summary>
    public double Quantile { get; init; } = 0.99;
    /// <summary>No anomaly flags until a space (or collection) holds this many items.</summary>
    public int WarmUp { get; init; } = 50;
    /// <summary>Recalibrate once the population has grown by this fraction since the last calibration.</summary>
    public double RecalibrateGrowth { get; init; } = 0.10;
    /// <summary>At most this many indexed items are scored for a calibration.</summary>
    public int CalibrationSample { get; init; } = 1000;
    /// <summary>Up to this population calibrations run inline (deterministic, cheap); beyond it they run in the background.</summary>
    public int InlinePopulation { get; init; } = 2000;
    /// <summary>Items scored inline by the first calibration of a population over <see cref="InlinePopulation"/>.</summary>
    public int InlineSample { get; init; } = 100;
    /// <summary>
    /// efSearch of the k-NN queries behind the score (approximate indexes; exact ones ignore it). The score is a mean
    /// over k neighbours compared with a quantile of scores computed the same way, so it needs a consistent search more
    /// than top recall: 2k walks a quarter of the search default's 96 candidates at 10⁶ rows, and the anomaly query was
    /// the detect thread's largest cost there.
    /// </summary>
    public int EfSearch { get; init; } = 20;
    /// <summary>Also use <c>semantic: false</c> packs (tests and demos).</summary>
    public bool AllowNonSemantic { get; init; }
}

/// <summary>
/// k-NN outlier score (Ramaswamy, Rastogi &amp; Shim, "Efficient algorithms for mining outliers from large data sets",
/// SIGMOD 2000, with the mean instead of the k-th distance): the mean cosine distance from a new item to its k nearest
/// indexed neighbours in a pack's space, within the item's collection when it has one. The item is flagged
/// <c>anomaly</c> when the score exceeds the <see cref="AnomalyOptions.Quantile"/> of the population's own scores.
/// <para>Calibration scores a deterministic sample of up to <see cref="AnomalyOptions.CalibrationSample"/> indexed items
/// leave-one-out against the whole population (k+1 neighbours, itself dropped), O(sample·N·D), and is redone when the
/// population has grown by <see cref="AnomalyOptions.RecalibrateGrowth"/> (10%): amortised O(sample·D) per insert.
/// Nothing is flagged before <see cref="AnomalyOptions.WarmUp"/> items.</para>
/// <para>No item waits long for a calibration. Up to <see cref="AnomalyOptions.InlinePopulation"/> items a calibration
/// is cheap and runs inline (so small catalogs are deterministic); beyond, a recalibration runs on a background task
/// while items go on being scored against the previous threshold, and a first calibration (a catalog opened with many
/// items) scores <see cref="AnomalyOptions.InlineSample"/> items inline and the full sample in the background.</para>
/// </summary>
public sealed class AnomalyRule(IndexedCatalog store, AnomalyOptions options) : IFlagRule
{
    sealed record Calibration(long Population, double Threshold, Task? Refresh);

    readonly Dictionary<string, Calibration> _calibration = [];
    readonly Lock _gate = new();

    public AnomalyOptions Options => options;

    public IEnumerable<CatalogFlag> Evaluate(MediaEncoded item)
    {
        foreach (var e in Usable.Embeddings(item, options.AllowNonSemantic))
        {
            var key = new PackKey(e.Pack, e.Version);
            if (store.Space(key) is not { } space) continue;
            var index = space.Index;
            var filter = CollectionFilter(item.Collection);
            var population = store.Population(key, item.Collection);
            if (population < options.WarmUp) continue;
            // Without a collection this reuses the walk that detection's near-duplicate probe of this embedding just made (IndexedCatalog.Nearest).
            var score = filter is null ? Mean(store.Nearest(space, e.Vector, options.K, Math.Max(options.EfSearch, options.K))) : Score(index, e.Vector, filter, exclude: null);
            var threshold = Threshold(key, item.Collection, index, population, filter);
            if (score > threshold)
                yield return new CatalogFlag(FlagKind.Anomaly, FlagMethods.Knn(e.Pack), Threshold: Math.Round(threshold, 6), Score: Math.Round(score, 6));
        }
    }

    /// <summary>The score of <paramref name="vector"/>: mean cosine distance to its k nearest rows (except
    /// <paramref name="exclude"/>), found by an approximate index with efSearch <see cref="AnomalyOptions.EfSearch"/>.</summary>
    public double Score(IVectorIndex index, ReadOnlySpan<float> vector, Func<long, bool>? filter, long? exclude)
    {
        Func<long, bool>? f = exclude is not { } x ? filter : id => id != x && (filter is null || filter(id));
        return Mean(index.Search(vector, options.K, Math.Max(options.EfSearch, options.K), f));
    }

    static double Mean(VectorNeighbor[] hits) => hits.Length == 0 ? 0 : hits.Average(h => (double)h.Distance);

    /// <summary>
    /// The calibrated threshold of a space (and collection). When the population has grown enough since the last
    /// calibration, a recalibration starts in the background and the current threshold is returned meanwhile.
    /// </summary>
    public double Threshold(PackKey key, string? collection, IVectorIndex index, long population, Func<long, bool>? filter)
    {
        var slot = collection is null ? key.ToString() : $"{key}|{collection}";
        lock (_gate)
        {
            if (_calibration.TryGetValue(slot, out var c))
            {
                if (population < c.Population * (1 + options.RecalibrateGrowth)) return c.Threshold;
                if (population > options.InlinePopulation)
                {
                    if (c.Refresh is not { IsCompleted: false })
                        _calibration[slot] = c with { Refresh = Task.Run(() => Calibrate(slot, index, population, filter, options.CalibrationSample)) };
                    return c.Threshold;
                }
            }
        }
        // Inline: a small population, or the first calibration of a large one on a bounded sample (the rest follows in the background).
        var small = population <= options.InlinePopulation;
        var threshold = Quantile(PopulationScores(index, filter, small ? options.CalibrationSample : options.InlineSample), options.Quantile);
        lock (_gate)
            _calibration[slot] = new Calibration(population, threshold, small ? null : Task.Run(() => Calibrate(slot, index, population, filter, options.CalibrationSample)));
        return threshold;
    }

    void Calibrate(string slot, IVectorIndex index, long population, Func<long, bool>? filter, int sample)
    {
        var threshold = Quantile(PopulationScores(index, filter, sample), options.Quantile);
        lock (_gate) _calibration[slot] = new Calibration(population, threshold, null);
    }

    /// <summary>Completes when every background recalibration started so far has finished (tests, shutdown).</summary>
    public Task CalibrationsSettled()
    {
        lock (_gate) return Task.WhenAll(_calibration.Values.Select(c => c.Refresh).OfType<Task>());
    }

    /// <summary>Leave-one-out scores of a deterministic, evenly spaced sample of the indexed population (only sampled rows are copied).</summary>
    public List<double> PopulationScores(IVectorIndex index, Func<long, bool>? filter, int? sample = null)
    {
        var ids = index.Ids().Where(id => filter is null || filter(id)).ToArray();
        var step = Math.Max(1, ids.Length / Math.Max(1, sample ?? options.CalibrationSample));
        var scores = new List<double>();
        var vector = new float[index.Dimension];
        for (var i = 0; i < ids.Length; i += step)
            if (index.TryGetVector(ids[i], vector)) scores.Add(Score(index, vector, filter, exclude: ids[i]));
        return scores;
    }

    /// <summary>The q-quantile with linear interpolation between order statistics (NumPy's default, Hyndman &amp; Fan type 7).</summary>
    public static double Quantile(IReadOnlyList<double> values, double q)
    {
        if (values.Count == 0) return double.PositiveInfinity;
        var sorted = values.Order().ToArray();
        var h = (sorted.Length - 1) * q;
        var lo = (int)Math.Floor(h);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    Func<long, bool>? CollectionFilter(string? collection) => collection is null ? null : seq => store.InCollection(seq, collection);
}
