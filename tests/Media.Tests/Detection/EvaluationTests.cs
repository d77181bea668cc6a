using Media.Detection;

namespace Media.Tests.Detection;

public class EvaluationTests
{
    [Fact]
    public void Figures_match_a_hand_count()
    {
        // Scores (higher = more positive) and truth; threshold 0.5 inclusive.
        Scored[] data = [new(0.9, true), new(0.8, false), new(0.7, true), new(0.5, true), new(0.4, false), new(0.2, true), new(0.1, false)];
        var r = Evaluation.Report("t", "m", data, 0.5, inclusive: true, targetPrecision: 0.99, toUnits: s => s);
        // Predicted positive: 0.9 T, 0.8 F, 0.7 T, 0.5 T → TP 3, FP 1; FN: 0.2 → 1; TN: 0.4, 0.1 → 2.
        Assert.Equal((3, 1, 1, 2), (r.TruePositives, r.FalsePositives, r.FalseNegatives, r.TrueNegatives));
        Assert.Equal(0.75, r.Precision);
        Assert.Equal(0.75, r.Recall);
        Assert.Equal(0.75, r.F1);
        // AUC: positives {0.9, 0.7, 0.5, 0.2} vs negatives {0.8, 0.4, 0.1}: wins 3 + 2 + 2 + 1 = 8 of 12.
        Assert.Equal(8.0 / 12, r.RocAuc!.Value, 10);
        // Precision 1 is reached only at threshold 0.9 (recall 1/4).
        Assert.Equal(0.9, r.ThresholdAtTarget);
        Assert.Equal(0.25, r.RecallAtTarget);
    }

    [Fact]
    public void Strict_thresholds_and_undefined_figures()
    {
        Scored[] data = [new(1, false), new(0.5, false)];
        var r = Evaluation.Report("t", "m", data, 1, inclusive: false, targetPrecision: 0.9, toUnits: s => s);
        Assert.Equal((0, 0, 0, 2), (r.TruePositives, r.FalsePositives, r.FalseNegatives, r.TrueNegatives));
        Assert.Null(r.Precision);
        Assert.Null(r.Recall);
        Assert.Null(r.RocAuc);
        Assert.Null(r.ThresholdAtTarget);
    }

    [Fact]
    public void Quantile_interpolates_like_numpy()
    {
        Assert.Equal(2.5, AnomalyRule.Quantile([1, 2, 3, 4], 0.5));
        Assert.Equal(3.97, AnomalyRule.Quantile([1, 2, 3, 4], 0.99), 10);
        Assert.Equal(4, AnomalyRule.Quantile([4], 0.99));
    }
}
