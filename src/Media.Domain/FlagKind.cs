namespace Media.Domain;

/// <summary>What a detection flag says about an item.</summary>
public enum FlagKind
{
    /// <summary>The same bytes (SHA-256) are already catalogued.</summary>
    ExactDuplicate,
    /// <summary>A perceptual hash (PDQ, Chromaprint) or an embedding lies within the policy's threshold of a catalogued item.</summary>
    NearDuplicate,
    /// <summary>The k-NN outlier score exceeds its space's calibrated threshold.</summary>
    Anomaly,
    /// <summary>The item matches a concept of the moderation policy.</summary>
    Concept,
    /// <summary>A pack's classifier gives one of the policy's labels a probability at or above the rule's threshold.</summary>
    Classification,
    /// <summary>The item matches an entry of an enabled hash bank (SHA-256, PDQ or Chromaprint); the flag names the bank and its action.</summary>
    BankMatch,
}

/// <summary>The wire and storage names of <see cref="FlagKind"/> (<c>exact_duplicate</c>, <c>near_duplicate</c>, <c>anomaly</c>, <c>concept</c>, <c>classification</c>, <c>bank_match</c>).</summary>
public static class FlagKinds
{
    public const string ExactDuplicate = "exact_duplicate";
    public const string NearDuplicate = "near_duplicate";
    public const string Anomaly = "anomaly";
    public const string Concept = "concept";
    public const string Classification = "classification";
    public const string BankMatch = "bank_match";

    public static string Name(this FlagKind kind) => kind switch
    {
        FlagKind.ExactDuplicate => ExactDuplicate,
        FlagKind.NearDuplicate => NearDuplicate,
        FlagKind.Anomaly => Anomaly,
        FlagKind.Concept => Concept,
        FlagKind.Classification => Classification,
        FlagKind.BankMatch => BankMatch,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <exception cref="FormatException">Not one of the names above.</exception>
    public static FlagKind Parse(string name) => name switch
    {
        ExactDuplicate => FlagKind.ExactDuplicate,
        NearDuplicate => FlagKind.NearDuplicate,
        Anomaly => FlagKind.Anomaly,
        Concept => FlagKind.Concept,
        Classification => FlagKind.Classification,
        BankMatch => FlagKind.BankMatch,
        _ => throw new FormatException($"unknown flag kind '{name}'"),
    };
}

/// <summary>
/// How a flag was found, as written in flags: <c>sha256</c>, <c>pdq</c>, <c>chromaprint</c>, <c>embedding:&lt;pack&gt;</c>
/// (cosine distance, or a concept's similarity), <c>knn:&lt;pack&gt;</c> (anomaly score), <c>classifier:&lt;pack&gt;</c>
/// (a class probability of the pack's classifier head).
/// </summary>
public static class FlagMethods
{
    public const string Sha256 = "sha256";
    public const string Pdq = "pdq";
    public const string Chromaprint = "chromaprint";
    public static string Embedding(string pack) => $"embedding:{pack}";
    public static string Knn(string pack) => $"knn:{pack}";
    public static string Classifier(string pack) => $"classifier:{pack}";
}

/// <summary>The final status of a submission.</summary>
public enum SubmissionStatus
{
    /// <summary>New media, added to the catalog and indexes (it may carry flags).</summary>
    Indexed,
    /// <summary>The exact bytes were already catalogued; nothing new was stored.</summary>
    Duplicate,
    /// <summary>The item could not be read or decoded; the submission's error says why.</summary>
    Rejected,
}

/// <summary>The wire and storage names of <see cref="SubmissionStatus"/>: <c>indexed</c>, <c>duplicate</c>, <c>rejected</c>.</summary>
public static class SubmissionStatuses
{
    public static string Name(this SubmissionStatus status) => status switch
    {
        SubmissionStatus.Indexed => "indexed",
        SubmissionStatus.Duplicate => "duplicate",
        SubmissionStatus.Rejected => "rejected",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    /// <exception cref="FormatException">Not one of the three names.</exception>
    public static SubmissionStatus Parse(string name) => name switch
    {
        "indexed" => SubmissionStatus.Indexed,
        "duplicate" => SubmissionStatus.Duplicate,
        "rejected" => SubmissionStatus.Rejected,
        _ => throw new FormatException($"unknown submission status '{name}'"),
    };
}
