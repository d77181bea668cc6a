using System.Numerics.Tensors;
using Media.Codecs;
using Media.Detection;
using Media.Embeddings.Encoders;
using Media.Embeddings.Packs;

namespace Media.Application;

/// <summary>
/// Builds a <see cref="ConceptRule"/> from a <see cref="ConceptPolicy"/> with the loaded packs: per pack, each concept's
/// prompt ensemble through the text tower (the mean of the normalised prompt embeddings, renormalised: CLIP's prompt
/// ensembling) and each example file through the image tower.
/// </summary>
public static class ConceptReferences
{
    /// <exception cref="ArgumentException">A pack is not semantic (without <paramref name="allowNonSemantic"/>) or none can embed the policy.</exception>
    /// <exception cref="MediaRejectedException">An example file cannot be read or decoded.</exception>
    public static ConceptRule Build(ConceptPolicy policy, string policyDirectory, IReadOnlyList<ModelPack> packs, bool allowNonSemantic)
    {
        var decoder = new ImageDecoder();
        var reader = new SourceReader();
        var byPack = new Dictionary<string, IReadOnlyList<ConceptReference>>();
        foreach (var pack in packs)
        {
            if (!pack.Manifest.Semantic && !allowNonSemantic)
                throw new ArgumentException($"pack '{pack.Name}' is semantic: false, so its similarities mean nothing for a moderation policy; use a real pack (or --allow-nonsemantic for tests and demos)");
            var list = new List<ConceptReference>();
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
                    var pipeline = new ImagePipeline(pack.Image);
                    var images = examples.Select(e => decoder.Decode(reader.ReadFile(Path.Combine(policyDirectory, e)), pipeline.DecodeOptions).Image).ToArray();
                    refs.AddRange(pipeline.Embed(images));
                }
                if (refs.Count > 0) list.Add(new ConceptReference(c, [.. refs]));
            }
            if (list.Count > 0) byPack[pack.Name] = list;
        }
        if (byPack.Count == 0) throw new ArgumentException("no loaded pack can embed the policy's prompts or examples");
        return new ConceptRule(byPack);
    }

    /// <summary>Loads the policy file and builds its rule (relative example paths are read beside the file).</summary>
    /// <exception cref="FormatException">The policy file is invalid.</exception>
    public static ConceptRule Load(string policyFile, IReadOnlyList<ModelPack> packs, bool allowNonSemantic) =>
        Build(ConceptPolicy.Load(policyFile), Path.GetDirectoryName(Path.GetFullPath(policyFile))!, packs, allowNonSemantic);
}
