using System.Numerics.Tensors;
using System.Text.Json;
using Media.Codecs;
using Media.Contracts.V1;
using Media.Embeddings.Encoders;
using Media.Embeddings.Packs;

namespace Media.Detection;

/// <summary>One concept of a moderation policy.</summary>
/// <param name="Name">Concept name, e.g. <c>weapons</c>.</param>
/// <param name="Prompts">Text prompts describing it; their normalised embeddings are averaged (CLIP's prompt ensembling).</param>
/// <param name="Examples">Example media files (paths relative to the policy file); each is its own reference vector.</param>
/// <param name="Threshold">Cosine similarity at or above which an item matches.</param>
/// <param name="Action">Label passed through to the flag, e.g. <c>review</c>.</param>
public sealed record ConceptSpec(string Name, string[]? Prompts, string[]? Examples, double Threshold, string Action = "review");

/// <summary>A policy file: <c>{"concepts": [ … ]}</c>.</summary>
public sealed record ConceptPolicy(ConceptSpec[] Concepts)
{
    static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <exception cref="FormatException">Unreadable or invalid; the message names the file and the problem.</exception>
    public static ConceptPolicy Load(string path)
    {
        ConceptPolicy? policy;
        try
        {
            policy = JsonSerializer.Deserialize<ConceptPolicy>(File.ReadAllText(path), Json);
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{path}: {ex.Message}", ex);
        }
        if (policy?.Concepts is not { Length: > 0 }) throw new FormatException($"{path}: no concepts");
        foreach (var c in policy.Concepts)
        {
            if (string.IsNullOrWhiteSpace(c.Name)) throw new FormatException($"{path}: a concept has no name");
            if ((c.Prompts?.Length ?? 0) + (c.Examples?.Length ?? 0) == 0) throw new FormatException($"{path}: concept '{c.Name}' has neither prompts nor examples");
            if (c.Threshold is < -1 or > 1) throw new FormatException($"{path}: concept '{c.Name}' threshold {c.Threshold} is not a cosine similarity in [-1, 1]");
        }
        return policy;
    }
}

/// <summary>
/// Matches items against a <see cref="ConceptPolicy"/>: per pack, each concept's reference vectors (the prompt ensemble
/// through the text tower, each example through the image tower) are computed once at load; an item's score is its
/// highest cosine similarity to any of them, and it gets a <c>concept</c> flag when the score reaches the threshold.
/// Packs with <c>semantic: false</c> are refused unless <c>allowNonSemantic</c> (tests and demos).
/// </summary>
public sealed class ConceptRule : IFlagRule
{
    readonly Dictionary<string, List<(ConceptSpec Concept, float[][] References)>> _byPack = [];

    /// <exception cref="ArgumentException">A pack is not semantic (without <paramref name="allowNonSemantic"/>) or none can embed the policy.</exception>
    /// <exception cref="MediaRejectedException">An example file cannot be read or decoded.</exception>
    public ConceptRule(ConceptPolicy policy, string policyDirectory, IReadOnlyList<ModelPack> packs, bool allowNonSemantic)
    {
        var decoder = new ImageDecoder();
        foreach (var pack in packs)
        {
            if (!pack.Manifest.Semantic && !allowNonSemantic)
                throw new ArgumentException($"pack '{pack.Name}' is semantic: false, so its similarities mean nothing for a moderation policy; use a real pack (or --allow-nonsemantic for tests and demos)");
            var list = new List<(ConceptSpec, float[][])>();
            foreach (var c in policy.Concepts)
            {
                var refs = new List<float[]>();
                if (c.Prompts is { Length: > 0 } prompts && pack.Text is not null)
                {
                    var mean = new float[pack.Manifest.Dimension];
                    foreach (var v in pack.Text.Encode(prompts)) TensorPrimitives.Add(mean, v, mean);
                    OnnxEncoder.L2Normalize(mean);
                    refs.Add(mean);
                }
                if (c.Examples is { Length: > 0 } examples && pack.Image is not null)
                {
                    var pipeline = new ImagePipeline(pack.Image, decoder);
                    var reader = new SourceReader();
                    var images = examples.Select(e => decoder.Decode(reader.ReadFile(Path.Combine(policyDirectory, e)), pipeline.DecodeOptions).Image).ToArray();
                    refs.AddRange(pipeline.Embed(images));
                }
                if (refs.Count > 0) list.Add((c, refs.ToArray()));
            }
            if (list.Count > 0) _byPack[pack.Name] = list;
        }
        if (_byPack.Count == 0) throw new ArgumentException("no loaded pack can embed the policy's prompts or examples");
    }

    /// <summary>The highest similarity of <paramref name="vector"/> (a <paramref name="pack"/> embedding) to each concept.</summary>
    public IEnumerable<(ConceptSpec Concept, double Score)> Scores(string pack, float[] vector)
    {
        if (!_byPack.TryGetValue(pack, out var concepts)) yield break;
        foreach (var (c, refs) in concepts)
            yield return (c, refs.Max(r => (double)TensorPrimitives.Dot(r, vector)));
    }

    public IEnumerable<MediaFlag> Evaluate(MediaEncoded item)
    {
        foreach (var e in item.Embeddings)
            foreach (var (c, score) in Scores(e.Pack, e.Vector))
                if (score >= c.Threshold)
                    yield return new MediaFlag("concept", $"embedding:{e.Pack}", Threshold: c.Threshold, Score: Math.Round(score, 6), Concept: c.Name, Action: c.Action);
    }
}
