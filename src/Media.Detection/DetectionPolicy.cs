namespace Media.Detection;

/// <summary>Thresholds for one modality. Defaults are documented in the README ("Detection policy").</summary>
public sealed record ModalityPolicy
{
    /// <summary>Near-duplicate when the PDQ Hamming distance (over the 8 dihedral variants) is at most this many bits.
    /// 31 is ThreatExchange's recommended match threshold for PDQ.</summary>
    public int PdqMaxDistance { get; init; } = 31;
    /// <summary>PDQ is only trusted when both hashes have at least this quality (0–100); ThreatExchange recommends 50.</summary>
    public int PdqMinQuality { get; init; } = 50;
    /// <summary>Near-duplicate when the cosine distance (1 − cosine similarity) to the nearest item in a <c>semantic</c>
    /// pack's space is at most this. 0.05 ≈ similarity 0.95 for CLIP ViT-B/32; tune with <c>media evaluate</c>.</summary>
    public double EmbeddingMaxCosineDistance { get; init; } = 0.05;
    /// <summary>Audio near-duplicate when the Chromaprint bit error rate at the best alignment is at most this (similarity ≥ 0.80).
    /// Measured on speech, chords and sweeps: copies (MP3 128k, Ogg, 22.05 kHz, −6 dB, trimmed 1.5 s) ≤ 0.032, different clips ≥ 0.39.</summary>
    public double ChromaprintMaxBitErrorRate { get; init; } = 1 - Media.Hashing.AudioNearDuplicate.DefaultMinSimilarity;
    /// <summary>Per-pack overrides of <see cref="EmbeddingMaxCosineDistance"/>, by pack name or by <c>name@version</c> where
    /// versions differ (a <c>name@version</c> key wins over the name's). Starts with <see cref="MeasuredPackDefaults"/>;
    /// configuration adds packs or replaces those values.</summary>
    public Dictionary<string, double> PackMaxCosineDistance { get; init; } = new(MeasuredPackDefaults, StringComparer.Ordinal);

    /// <summary>
    /// Built-in near-duplicate thresholds (cosine distance) of packs whose embedding space was calibrated with
    /// <c>media evaluate</c>: <c>nsfw-mobilenet-v2</c> 0.12 (similarity ≥ 0.88), measured on the pdq photographs and
    /// their crops, resizes, recompressions, brightenings and mirrors (tools/make_nsfw_calibration.py; README
    /// "Near-duplicates by the nsfw pack's embedding"): edits ≥ 0.914 similarity, different textured photographs ≤ 0.859.
    /// </summary>
    public static IReadOnlyDictionary<string, double> MeasuredPackDefaults { get; } = new Dictionary<string, double>(StringComparer.Ordinal)
    {
        ["nsfw-mobilenet-v2"] = 0.12,
    };

    /// <summary>The near-duplicate threshold (cosine distance) of a pack: its <c>name@version</c> entry, else its name's, else the default.</summary>
    public double CosineThreshold(string pack, string? version = null) =>
        version is not null && PackMaxCosineDistance.TryGetValue($"{pack}@{version}", out var v) ? v
        : PackMaxCosineDistance.TryGetValue(pack, out var t) ? t : EmbeddingMaxCosineDistance;
}

/// <summary>Detection thresholds per modality (configuration section <c>Media:Detection</c>).</summary>
public sealed record DetectionPolicy
{
    public ModalityPolicy Image { get; init; } = new();
    public ModalityPolicy Audio { get; init; } = new();
    /// <summary>k-NN anomaly scoring (semantic packs only unless <c>AllowNonSemantic</c>).</summary>
    public AnomalyOptions Anomaly { get; init; } = new();
    /// <summary>How flags become the submission's action label (<c>Media:Actions</c>: precedence, per-kind defaults).</summary>
    public ActionPolicy Actions { get; init; } = new();

    public ModalityPolicy For(string modality) => modality == "audio" ? Audio : Image;
}
