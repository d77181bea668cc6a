using Media.Catalog;
using Media.Contracts.V1;
using Media.Domain;

namespace Media.Workers;

/// <summary>Maps the application's records to the integration events published on the bus.</summary>
public static class Messages
{
    /// <summary>The flag as published: a classification's <see cref="CatalogFlag.Label"/> is its class label
    /// (<see cref="MediaFlag.Label"/>), a bank match's is its bank (<see cref="MediaFlag.Bank"/>), a concept's is its concept.</summary>
    public static MediaFlag ToMessage(this CatalogFlag f) => f.Kind switch
    {
        FlagKind.Classification => new(f.Kind.Name(), f.Method, f.Of, f.OfPath, f.Distance, f.Threshold, f.Score, Concept: null, f.Action, Label: f.Label),
        FlagKind.BankMatch => new(f.Kind.Name(), f.Method, f.Of, f.OfPath, f.Distance, f.Threshold, f.Score, Action: f.Action, Bank: f.Label),
        _ => new(f.Kind.Name(), f.Method, f.Of, f.OfPath, f.Distance, f.Threshold, f.Score, f.Label, f.Action),
    };

    public static MediaProcessed ToMessage(this SubmissionRecord r) =>
        new(r.SubmissionId, r.CorrelationId, r.MediaId, r.MediaId, r.Path, r.Modality, r.Status.Name(), [.. r.Flags.Select(ToMessage)], r.Error, r.Action);

    /// <summary>The events a recorded result announces besides <see cref="MediaProcessed"/>: one per flag, or the rejection.</summary>
    public static IEnumerable<object> Events(this SubmissionRecord r)
    {
        if (r.Status == SubmissionStatus.Rejected)
            yield return new MediaRejected(r.SubmissionId, r.CorrelationId, r.Path, r.Error ?? "rejected");
        foreach (var flag in r.Flags)
        {
            var f = flag.ToMessage();
            yield return flag.Kind switch
            {
                FlagKind.ExactDuplicate => new ExactDuplicateDetected(r.SubmissionId, r.CorrelationId, r.MediaId!, r.Path, f),
                FlagKind.NearDuplicate => new NearDuplicateDetected(r.SubmissionId, r.CorrelationId, r.MediaId!, r.Path, f),
                FlagKind.Anomaly => new AnomalyDetected(r.SubmissionId, r.CorrelationId, r.MediaId!, r.Path, f),
                FlagKind.Concept => new ConceptMatched(r.SubmissionId, r.CorrelationId, r.MediaId!, r.Path, f),
                FlagKind.Classification => new ClassificationMatched(r.SubmissionId, r.CorrelationId, r.MediaId!, r.Path, f),
                FlagKind.BankMatch => new BankMatched(r.SubmissionId, r.CorrelationId, r.MediaId!, r.Path, f),
                _ => throw new ArgumentOutOfRangeException(nameof(r), flag.Kind, "unknown flag kind"),
            };
        }
    }
}
