using System.Diagnostics;
using System.Numerics.Tensors;
using Media.Catalog;
using Media.Detection;
using Media.Domain;

namespace Media.Application;

/// <summary>One point of the embedding map.</summary>
/// <param name="Id">The item's id.</param>
/// <param name="X">Coordinate on the first principal component (the sample's centred embedding projected on it).</param>
/// <param name="Y">Coordinate on the second principal component.</param>
/// <param name="Modality"><c>image</c> or <c>audio</c>.</param>
/// <param name="Collection">The item's collection tag, or null.</param>
/// <param name="Flag">The most telling kind of flag the item carries (<c>bank_match</c>, <c>classification</c>, <c>concept</c>,
/// <c>near_duplicate</c>, <c>anomaly</c>, <c>exact_duplicate</c>, in that order), or null.</param>
public sealed record MapPoint(string Id, double X, double Y, string Modality, string? Collection, string? Flag);

/// <summary>A 2-D projection of a sample of one pack's embedding space.</summary>
/// <param name="Pack">The pack key (<c>name@version</c>) whose embeddings were projected.</param>
/// <param name="Total">Embeddings of that pack in the catalog.</param>
/// <param name="ExplainedVariance">The fraction of the sample's total variance on each of the two components (PC1 ≥ PC2).</param>
/// <param name="Points">The sampled items with their coordinates.</param>
/// <param name="Milliseconds">How long sampling and projecting took.</param>
public sealed record EmbeddingMapResult(string Pack, long Total, double[] ExplainedVariance, IReadOnlyList<MapPoint> Points, double Milliseconds);

/// <summary>The result of <see cref="EmbeddingMap.Pca2"/>: the sample mean, two unit principal axes and their variances.</summary>
/// <param name="Mean">Mean vector, length D.</param>
/// <param name="Axes">Two orthonormal axes of length D, by decreasing variance.</param>
/// <param name="Variances">Variance along each axis (eigenvalues of the sample covariance, divided by n − 1).</param>
/// <param name="TotalVariance">Trace of the sample covariance.</param>
public sealed record Pca2Result(double[] Mean, double[][] Axes, double[] Variances, double TotalVariance);

/// <summary>
/// The embedding map: a uniform random sample of one pack's embeddings (at most <c>sample</c> items, so the cost does not
/// grow with the catalog beyond listing its ids) projected on the sample's first two principal components (PCA computed
/// here: the D×D covariance of the sample, then subspace iteration with a Rayleigh–Ritz step for the top two
/// eigenvectors). With the process's indexes the vectors are read from memory; without them (an API process on a broker)
/// they are streamed once from the catalog with reservoir sampling. The sample is reproducible (fixed seed).
/// </summary>
public sealed class EmbeddingMap(IMediaCatalog catalog, IndexedCatalog? store = null)
{
    /// <summary>Largest sample a map may ask for.</summary>
    public const int MaxSample = 20_000;

    /// <summary>Projects a sample of the embeddings of pack <paramref name="packName"/> (a name, or <c>name@version</c>).</summary>
    /// <returns>The map; null when no embedding of that pack is catalogued.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sample"/> outside 2–<see cref="MaxSample"/>.</exception>
    public EmbeddingMapResult? Project(string packName, int sample = 2000, int seed = 1)
    {
        if (sample is < 2 or > MaxSample) throw new ArgumentOutOfRangeException(nameof(sample), sample, $"sample must be 2–{MaxSample}");
        var started = Stopwatch.StartNew();
        var (key, total) = Resolve(packName);
        if (key is not { } pack || total == 0) return null;
        var rng = new Random(seed);
        List<(long Seq, float[] Vector)> rows;
        if (store?.Space(pack) is { } space)
        {
            var ids = space.Index.Ids();
            Shuffle(ids, Math.Min(sample, ids.Length), rng);
            rows = [];
            foreach (var id in ids.AsSpan(0, Math.Min(sample, ids.Length)))
            {
                var v = new float[space.Index.Dimension];
                if (space.Index.TryGetVector(id, v)) rows.Add((id, v));
            }
        }
        else
        {
            rows = new List<(long, float[])>(sample);
            long seen = 0;
            foreach (var (seq, e) in catalog.Embeddings(0, pack))
            {
                seen++;
                if (rows.Count < sample) rows.Add((seq, e.Vector));
                else if (rng.NextInt64(seen) is var j && j < sample) rows[(int)j] = (seq, e.Vector);
            }
        }
        rows.Sort((a, b) => a.Seq.CompareTo(b.Seq));
        var items = ItemsOf(rows.Select(r => r.Seq));
        var flags = FlagsOf();
        var points = new List<MapPoint>(rows.Count);
        double[] explained = [0, 0];
        if (rows.Count >= 2)
        {
            var pca = Pca2([.. rows.Select(r => r.Vector)]);
            explained = [.. pca.Variances.Select(v => pca.TotalVariance > 0 ? Math.Round(v / pca.TotalVariance, 6) : 0)];
            var centred = new double[pca.Mean.Length];
            foreach (var (seq, v) in rows)
            {
                if (!items.TryGetValue(seq, out var item)) continue;
                for (var i = 0; i < centred.Length; i++) centred[i] = v[i] - pca.Mean[i];
                points.Add(new MapPoint(item.Id, Math.Round(TensorPrimitives.Dot<double>(centred, pca.Axes[0]), 6), Math.Round(TensorPrimitives.Dot<double>(centred, pca.Axes[1]), 6),
                    item.Modality, item.Collection, flags.GetValueOrDefault(item.Id)));
            }
        }
        return new EmbeddingMapResult(pack.ToString(), total, explained, points, Math.Round(started.Elapsed.TotalMilliseconds, 1));
    }

    (PackKey? Key, long Total) Resolve(string packName)
    {
        if (store is not null)
        {
            var spaces = store.Spaces.Where(s => s.Pack.Name == packName || s.Pack.ToString() == packName).ToArray();
            if (spaces.Length == 0) return (null, 0);
            var best = spaces.MaxBy(s => s.Index.Count)!;
            return (best.Pack, best.Index.Count);
        }
        var packs = catalog.Stats().Packs.Where(p => p.Key == packName || p.Key.StartsWith(packName + "@", StringComparison.Ordinal)).ToArray();
        if (packs.Length == 0) return (null, 0);
        var top = packs.MaxBy(p => p.Value);
        return (PackKey.Parse(top.Key), top.Value);
    }

    Dictionary<long, (string Id, string Modality, string? Collection)> ItemsOf(IEnumerable<long> seqs)
    {
        var result = new Dictionary<long, (string, string, string?)>();
        if (store is not null)
        {
            foreach (var seq in seqs)
                if (store.Find(seq) is { } i) result[seq] = (i.Id, i.Modality, i.Collection);
            return result;
        }
        var wanted = seqs.ToHashSet();
        if (wanted.Count == 0) return result;
        foreach (var item in catalog.Items(wanted.Min() - 1))
        {
            if (wanted.Contains(item.Seq)) result[item.Seq] = (item.Id, item.Modality, item.Collection);
            if (item.Seq >= wanted.Max()) break;
        }
        return result;
    }

    static readonly FlagKind[] Precedence = [FlagKind.BankMatch, FlagKind.Classification, FlagKind.Concept, FlagKind.NearDuplicate, FlagKind.Anomaly, FlagKind.ExactDuplicate];

    Dictionary<string, string> FlagsOf()
    {
        var best = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (id, f) in catalog.AllFlags())
        {
            var rank = Array.IndexOf(Precedence, f.Kind);
            if (rank >= 0 && (!best.TryGetValue(id, out var r) || rank < r)) best[id] = rank;
        }
        return best.ToDictionary(x => x.Key, x => Precedence[x.Value].Name(), StringComparer.Ordinal);
    }

    /// <summary>Moves a uniform random choice of <paramref name="k"/> elements to the front (partial Fisher–Yates).</summary>
    static void Shuffle(long[] a, int k, Random rng)
    {
        for (var i = 0; i < k; i++)
        {
            var j = rng.Next(i, a.Length);
            (a[i], a[j]) = (a[j], a[i]);
        }
    }

    /// <summary>
    /// The first two principal components of <paramref name="rows"/> (n ≥ 2 vectors of one length D): the sample
    /// covariance C (D×D, accumulated in double), then block power (subspace) iteration on C with two vectors,
    /// orthonormalised each step, until the subspace moves less than 1e-10 or after 500 steps, and a Rayleigh–Ritz
    /// rotation that orders the two axes by variance. Each axis's sign is fixed so that its largest-magnitude component is
    /// positive. Cost: n·D²/2 multiply-adds for C plus 2·D² per step.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than 2 rows, rows of different lengths, or D below 2.</exception>
    public static Pca2Result Pca2(IReadOnlyList<float[]> rows)
    {
        if (rows.Count < 2) throw new ArgumentException("PCA needs at least 2 rows", nameof(rows));
        var d = rows[0].Length;
        if (d < 2 || rows.Any(r => r.Length != d)) throw new ArgumentException("rows must all have one length of at least 2", nameof(rows));
        var n = rows.Count;
        var mean = new double[d];
        foreach (var r in rows) for (var i = 0; i < d; i++) mean[i] += r[i];
        for (var i = 0; i < d; i++) mean[i] /= n;

        var c = new double[d * d]; // upper triangle, row-major
        var x = new double[d];
        foreach (var r in rows)
        {
            for (var i = 0; i < d; i++) x[i] = r[i] - mean[i];
            for (var i = 0; i < d; i++)
            {
                if (x[i] == 0) continue;
                var tail = c.AsSpan(i * d + i, d - i);
                TensorPrimitives.MultiplyAdd(x.AsSpan(i), x[i], tail, tail);
            }
        }
        var total = 0.0;
        for (var i = 0; i < d; i++)
        {
            for (var j = i; j < d; j++) c[j * d + i] = c[i * d + j] /= n - 1;
            total += c[i * d + i];
        }

        var q = new double[2][];
        var rng = new Random(12345);
        for (var k = 0; k < 2; k++) q[k] = [.. Enumerable.Range(0, d).Select(_ => rng.NextDouble() - 0.5)];
        Orthonormalise(q);
        var z = new double[2][] { new double[d], new double[d] };
        for (var step = 0; step < 500; step++)
        {
            for (var k = 0; k < 2; k++) MultiplySymmetric(c, d, q[k], z[k]);
            Orthonormalise(z);
            var moved = 0.0;
            for (var k = 0; k < 2; k++) moved = Math.Max(moved, 1 - Math.Abs(TensorPrimitives.Dot<double>(z[k], q[k])));
            (q, z) = (z, q);
            if (moved < 1e-10) break;
        }

        // Rayleigh–Ritz: the 2×2 matrix B = QᵀCQ, diagonalised by a Jacobi rotation.
        var cq0 = new double[d];
        var cq1 = new double[d];
        MultiplySymmetric(c, d, q[0], cq0);
        MultiplySymmetric(c, d, q[1], cq1);
        double b00 = TensorPrimitives.Dot<double>(q[0], cq0), b11 = TensorPrimitives.Dot<double>(q[1], cq1), b01 = TensorPrimitives.Dot<double>(q[0], cq1);
        var theta = 0.5 * Math.Atan2(2 * b01, b00 - b11);
        double cs = Math.Cos(theta), sn = Math.Sin(theta);
        var a0 = new double[d];
        var a1 = new double[d];
        for (var i = 0; i < d; i++)
        {
            a0[i] = cs * q[0][i] + sn * q[1][i];
            a1[i] = -sn * q[0][i] + cs * q[1][i];
        }
        var l0 = cs * cs * b00 + 2 * cs * sn * b01 + sn * sn * b11;
        var l1 = sn * sn * b00 - 2 * cs * sn * b01 + cs * cs * b11;
        if (l1 > l0) { (a0, a1) = (a1, a0); (l0, l1) = (l1, l0); }
        foreach (var a in new[] { a0, a1 })
        {
            var big = a[TensorPrimitives.IndexOfMaxMagnitude<double>(a)];
            if (big < 0) TensorPrimitives.Negate<double>(a, a);
        }
        return new Pca2Result(mean, [a0, a1], [Math.Max(0, l0), Math.Max(0, l1)], total);
    }

    static void MultiplySymmetric(double[] c, int d, double[] v, double[] result)
    {
        for (var i = 0; i < d; i++) result[i] = TensorPrimitives.Dot<double>(c.AsSpan(i * d, d), v);
    }

    /// <summary>Gram–Schmidt on two vectors (a second vector left at zero is replaced by one orthogonal to the first).</summary>
    static void Orthonormalise(double[][] v)
    {
        Normalise(v[0]);
        var p = TensorPrimitives.Dot<double>(v[1], v[0]);
        TensorPrimitives.MultiplyAdd(v[0], -p, v[1], v[1]);
        if (TensorPrimitives.Norm<double>(v[1]) < 1e-300)
        {
            Array.Clear(v[1]);
            v[1][TensorPrimitives.IndexOfMinMagnitude<double>(v[0])] = 1;
            TensorPrimitives.MultiplyAdd(v[0], -TensorPrimitives.Dot<double>(v[1], v[0]), v[1], v[1]);
        }
        Normalise(v[1]);
    }

    static void Normalise(double[] v)
    {
        var norm = TensorPrimitives.Norm<double>(v);
        if (norm > 0) TensorPrimitives.Divide(v, norm, v);
    }
}
