using System.Numerics.Tensors;
using System.Text.Json;
using Media.Catalog;
using Media.Contracts.V1;
using Media.Domain;

namespace Media.Detection;

/// <summary>One concept of a moderation policy.</summary>
/// <param name="Name">Concept name, e.g. <c>weapons</c>.</param>
/// <param name="Prompts">Text prompts describing it; their normalised embeddings are averaged (CLIP's prompt ensembling).</param>
/// <param name="Examples">Example media files (paths relative to the policy file); each is its own reference vector.</param>
/// <param name="Threshold">Cosine similarity at or above which an item matches.</param>
/// <param name="Action">Label passed through to the flag, e.g. <c>review</c>.</param>
public sealed record ConceptSpec(string Name, string[]? Prompts, string[]? Examples, double Threshold, string Action = "review");

/// <summary>One classification rule of a moderation policy: flag an item when a pack's classifier gives a label a probability at or above a threshold.</summary>
/// <param name="Pack">Name of the pack whose classifier head is read (its <c>pack.json</c> <c>name</c>, e.g. <c>nsfw-mobilenet-v2</c>).</param>
/// <param name="Label">One of that classifier's labels, e.g. <c>Drawing</c> (matched without regard to case; the flag uses the pack's spelling).</param>
/// <param name="Threshold">Probability in (0, 1] at or above which an item matches.</param>
/// <param name="Action">Label passed through to the flag, e.g. <c>review</c>.</param>
public sealed record ClassificationSpec(string Pack, string Label, double Threshold, string Action = "review");

/// <summary>
/// A moderation policy file: <c>{"concepts": [ … ], "classifications": [ … ]}</c>. Either list may be left out, not both.
/// After <see cref="Load"/> both are non-null (empty when absent).
/// </summary>
public sealed record ConceptPolicy(ConceptSpec[] Concepts, ClassificationSpec[]? Classifications = null)
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
        if (policy is null) throw new FormatException($"{path}: empty policy");
        policy = policy with { Concepts = policy.Concepts ?? [], Classifications = policy.Classifications ?? [] };
        if (policy.Concepts.Length == 0 && policy.Classifications!.Length == 0) throw new FormatException($"{path}: no concepts and no classifications");
        foreach (var c in policy.Concepts)
        {
            if (c is null || string.IsNullOrWhiteSpace(c.Name)) throw new FormatException($"{path}: a concept has no name");
            if ((c.Prompts?.Length ?? 0) + (c.Examples?.Length ?? 0) == 0) throw new FormatException($"{path}: concept '{c.Name}' has neither prompts nor examples");
            if (c.Threshold is < -1 or > 1) throw new FormatException($"{path}: concept '{c.Name}' threshold {c.Threshold} is not a cosine similarity in [-1, 1]");
            if (c.Action is not null) ActionPolicy.CheckLabel(c.Action, $"{path}: concept '{c.Name}'");
        }
        for (var i = 0; i < policy.Classifications!.Length; i++)
        {
            var r = policy.Classifications[i];
            var which = $"classifications[{i}]";
            if (r is null) throw new FormatException($"{path}: {which} is null");
            if (string.IsNullOrWhiteSpace(r.Pack)) throw new FormatException($"{path}: {which} has no pack (the name of a loaded pack with a classifier)");
            if (string.IsNullOrWhiteSpace(r.Label)) throw new FormatException($"{path}: {which} (pack '{r.Pack}') has no label");
            if (!(r.Threshold > 0 && r.Threshold <= 1)) throw new FormatException($"{path}: {which} ('{r.Label}' of '{r.Pack}') threshold {r.Threshold} is not a probability in (0, 1]");
            if (r.Action is null) throw new FormatException($"{path}: {which} ('{r.Label}' of '{r.Pack}') has a null action");
            ActionPolicy.CheckLabel(r.Action, $"{path}: {which} ('{r.Label}' of '{r.Pack}')");
        }
        return policy;
    }
}

/// <summary>A concept's reference vectors in one pack's space (the prompt ensemble's mean, and one vector per example).</summary>
public sealed record ConceptReference(ConceptSpec Concept, float[][] Vectors);

/// <summary>
/// Matches items against a <see cref="ConceptPolicy"/>: per pack, each concept's reference vectors are computed once at
/// load (by the application layer, which owns the encoders); an item's score is its highest cosine similarity to any of
/// them, and it gets a <c>concept</c> flag when the score reaches the threshold.
/// </summary>
/// <param name="byPack">Reference vectors per pack name.</param>
public sealed class ConceptRule(IReadOnlyDictionary<string, IReadOnlyList<ConceptReference>> byPack) : IFlagRule
{
    /// <summary>The highest similarity of <paramref name="vector"/> (a <paramref name="pack"/> embedding) to each concept.</summary>
    public IEnumerable<(ConceptSpec Concept, double Score)> Scores(string pack, float[] vector)
    {
        if (!byPack.TryGetValue(pack, out var concepts)) yield break;
        foreach (var (c, refs) in concepts)
            yield return (c, refs.Max(r => (double)TensorPrimitives.Dot(r, vector)));
    }

    public IEnumerable<CatalogFlag> Evaluate(MediaEncoded item)
    {
        foreach (var e in item.Embeddings)
            foreach (var (c, score) in Scores(e.Pack, e.Vector))
                if (score >= c.Threshold)
                    yield return new CatalogFlag(FlagKind.Concept, FlagMethods.Embedding(e.Pack), Threshold: c.Threshold, Score: Math.Round(score, 6), Label: c.Name, Action: c.Action);
    }
}
