namespace Media.Detection;

/// <summary>One labelled observation: a score where higher means "more positive", and the truth.</summary>
public readonly record struct Scored(double Score, bool Positive);

/// <summary>Figures of one method on one task. Nullable figures are undefined (e.g. precision with no predicted positives).</summary>
public sealed record MethodReport(
    string Task, string Method, int N, int Positives, double Threshold,
    int TruePositives, int FalsePositives, int FalseNegatives, int TrueNegatives,
    double? Precision, double? Recall, double? F1, double? RocAuc,
    double TargetPrecision, double? ThresholdAtTarget, double? PrecisionAtTarget, double? RecallAtTarget);

/// <summary>
/// Threshold metrics for labelled scores: the confusion counts, precision, recall and F1 at a threshold, ROC AUC
/// (the Mann–Whitney U statistic: the probability that a random positive outscores a random negative, ties counting
/// half), and the threshold that reaches a target precision with the highest recall.
/// </summary>
public static class Evaluation
{
    /// <summary>
    /// Evaluates "predict positive when score ≥ <paramref name="threshold"/>" (or &gt; when not <paramref name="inclusive"/>).
    /// <paramref name="toUnits"/> maps a score threshold back to the method's own units for the report (e.g. −score → distance).
    /// </summary>
    public static MethodReport Report(string task, string method, IReadOnlyList<Scored> data, double threshold, bool inclusive,
        double targetPrecision, Func<double, double> toUnits)
    {
        var (tp, fp, fn, tn) = Confusion(data, s => inclusive ? s >= threshold : s > threshold);
        var (precision, recall, f1) = Rates(tp, fp, fn);

        double? atTarget = null, pAt = null, rAt = null;
        foreach (var candidate in data.Select(d => d.Score).Distinct().OrderByDescending(s => s))
        {
            var (ctp, cfp, cfn, _) = Confusion(data, s => s >= candidate);
            var (p, r, _) = Rates(ctp, cfp, cfn);
            if (p >= targetPrecision && (rAt is null || r > rAt)) { atTarget = candidate; pAt = p; rAt = r; }
        }
        return new MethodReport(task, method, data.Count, data.Count(d => d.Positive), toUnits(threshold), tp, fp, fn, tn,
            precision, recall, f1, RocAuc(data), targetPrecision, atTarget is { } a ? toUnits(a) : null, pAt, rAt);
    }

    public static (int Tp, int Fp, int Fn, int Tn) Confusion(IReadOnlyList<Scored> data, Func<double, bool> predict)
    {
        int tp = 0, fp = 0, fn = 0, tn = 0;
        foreach (var d in data)
        {
            var p = predict(d.Score);
            if (p && d.Positive) tp++;
            else if (p) fp++;
            else if (d.Positive) fn++;
            else tn++;
        }
        return (tp, fp, fn, tn);
    }

    static (double? Precision, double? Recall, double? F1) Rates(int tp, int fp, int fn)
    {
        double? precision = tp + fp == 0 ? null : (double)tp / (tp + fp);
        double? recall = tp + fn == 0 ? null : (double)tp / (tp + fn);
        double? f1 = precision is { } p && recall is { } r && p + r > 0 ? 2 * p * r / (p + r) : null;
        return (precision, recall, f1);
    }

    /// <summary>ROC AUC by Mann–Whitney U, or null without both classes.</summary>
    public static double? RocAuc(IReadOnlyList<Scored> data)
    {
        var pos = data.Where(d => d.Positive).Select(d => d.Score).ToArray();
        var neg = data.Where(d => !d.Positive).Select(d => d.Score).ToArray();
        if (pos.Length == 0 || neg.Length == 0) return null;
        double wins = 0;
        foreach (var p in pos)
            foreach (var n in neg)
                wins += p > n ? 1 : p == n ? 0.5 : 0;
        return wins / (pos.Length * (double)neg.Length);
    }
}
