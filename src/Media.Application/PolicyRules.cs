using Media.Detection;
using Media.Embeddings.Packs;

namespace Media.Application;

/// <summary>
/// Turns a moderation policy file (<see cref="ConceptPolicy"/>) into detection rules for the loaded packs: a
/// <see cref="ConceptRule"/> when it has concepts (<see cref="ConceptReferences"/>) and a <see cref="ClassificationRule"/>
/// when it has classifications, each checked here against the packs so a mistake fails the start with a message.
/// </summary>
public static class PolicyRules
{
    /// <summary>Loads the policy file and builds its rules (relative example paths are read beside the file).</summary>
    /// <exception cref="FormatException">The policy file is invalid.</exception>
    /// <exception cref="ArgumentException">The policy cannot be used with the loaded packs (see <see cref="Classifications"/> and <see cref="ConceptReferences.Build"/>).</exception>
    /// <exception cref="Media.Codecs.MediaRejectedException">A concept example cannot be decoded.</exception>
    public static IReadOnlyList<IFlagRule> Load(string policyFile, IReadOnlyList<ModelPack> packs, bool allowNonSemantic)
    {
        var policy = ConceptPolicy.Load(policyFile);
        var rules = new List<IFlagRule>();
        if (policy.Concepts.Length > 0)
            rules.Add(ConceptReferences.Build(policy, Path.GetDirectoryName(Path.GetFullPath(policyFile))!, packs, allowNonSemantic));
        if (policy.Classifications is { Length: > 0 })
            rules.Add(Classifications(policy.Classifications, packs, allowNonSemantic, policyFile));
        return rules;
    }

    /// <summary>
    /// Checks each classification rule against the loaded packs and returns the rule with labels spelled as the packs
    /// spell them: the pack must be loaded, have a classifier head and that label (matched without regard to case), and
    /// be <c>semantic: true</c> unless <paramref name="allowNonSemantic"/>.
    /// </summary>
    /// <param name="specs">The policy's classification rules.</param>
    /// <param name="packs">The loaded packs.</param>
    /// <param name="allowNonSemantic">Accept packs with <c>semantic: false</c> (tests and demos).</param>
    /// <param name="where">The policy file, named in errors.</param>
    /// <exception cref="ArgumentException">A rule names a pack that is not loaded, has no classifier, has no such label, or is not semantic.</exception>
    public static ClassificationRule Classifications(IReadOnlyList<ClassificationSpec> specs, IReadOnlyList<ModelPack> packs, bool allowNonSemantic, string where)
    {
        var resolved = new List<ClassificationSpec>(specs.Count);
        foreach (var spec in specs)
        {
            var pack = packs.FirstOrDefault(p => p.Name == spec.Pack)
                ?? throw new ArgumentException($"{where}: classification '{spec.Label}' names pack '{spec.Pack}', which is not loaded " +
                                               $"({(packs.Count == 0 ? "no pack is loaded" : "loaded: " + string.Join(", ", packs.Select(p => p.Name)))}; give it with --pack DIR)");
            if (pack.Image?.Classifier is null)
                throw new ArgumentException($"{where}: classification '{spec.Label}' names pack '{spec.Pack}', which has no classifier head (image.classifier in its pack.json)");
            var label = pack.Image.Labels.FirstOrDefault(l => l == spec.Label) ?? pack.Image.Labels.FirstOrDefault(l => string.Equals(l, spec.Label, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"{where}: pack '{spec.Pack}' has no label '{spec.Label}' (its labels: {string.Join(", ", pack.Image.Labels)})");
            if (!pack.Manifest.Semantic && !allowNonSemantic)
                throw new ArgumentException($"pack '{pack.Name}' is semantic: false, so its classifier means nothing for a moderation policy; use a real pack (or --allow-nonsemantic for tests and demos)");
            resolved.Add(spec with { Label = label });
        }
        return new ClassificationRule(resolved, allowNonSemantic);
    }
}
