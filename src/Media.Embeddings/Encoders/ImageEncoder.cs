using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Media.Embeddings.Encoders;

/// <summary>What an image tower computes for one image in one run.</summary>
/// <param name="Embedding">Unit-norm embedding, float32 <c>[D]</c>.</param>
/// <param name="Probabilities">The classifier head's output, float32 <c>[L]</c> in <see cref="ClassifierHead.Labels"/>
/// order, or null when the pack has no classifier.</param>
public sealed record ImageEncoding(float[] Embedding, float[]? Probabilities);

/// <summary>
/// Image tower of a pack: preprocessed pixels <c>pixel_values float32 [B,3,S,S]</c> (NCHW, normalised
/// as the pack's <see cref="ImagePreprocessing"/> says) → unit-norm <c>float32 [B,D]</c>, and, when the pack declares a
/// classifier head, its probabilities <c>float32 [B,L]</c> fetched in the same ONNX Runtime run.
/// </summary>
public sealed class ImageEncoder : OnnxEncoder
{
    readonly ImageModality _spec;
    /// <summary>The pack's preprocessing; <c>CropSize</c> is the input edge S.</summary>
    public ImagePreprocessing Preprocessing => _spec.Preprocess;
    /// <summary>Floats per image: 3·S·S.</summary>
    public int ValuesPerImage => 3 * _spec.Preprocess.CropSize * _spec.Preprocess.CropSize;
    /// <summary>The classifier head, or null.</summary>
    public ClassifierHead? Classifier => _spec.Classifier;
    /// <summary>The classifier's labels in output order; empty without a classifier.</summary>
    public IReadOnlyList<string> Labels => _spec.Classifier?.Labels ?? [];

    ImageEncoder(EngagedSession session, ImageModality spec, int dimension) : base(session, spec.Output, dimension) => _spec = spec;

    internal static ImageEncoder Create(EngagedSession session, ImageModality spec, int dimension, string where) =>
        Validated(session, where, "image", [spec.Input], () =>
        {
            var s = spec.Preprocess.CropSize;
            ExpectTensor(session.Session.InputMetadata, "input", spec.Input, TensorElementType.Float, [-1, 3, s, s], where, "image.input");
            ExpectTensor(session.Session.OutputMetadata, "output", spec.Output, TensorElementType.Float, [-1, dimension], where, "image.output");
            if (spec.Classifier is { } head)
                ExpectTensor(session.Session.OutputMetadata, "output", head.Output, TensorElementType.Float, [-1, head.Labels.Length], where, "image.classifier.output");
            return new ImageEncoder(session, spec, dimension);
        });

    /// <summary>
    /// Embeds <paramref name="count"/> preprocessed images laid out contiguously in <paramref name="pixels"/>
    /// (<c>[count, 3, S, S]</c>); returns one unit vector per image.
    /// </summary>
    /// <exception cref="ArgumentException">The buffer does not hold <c>count·3·S·S</c> values.</exception>
    public float[][] Encode(float[] pixels, int count) => EncodeWithClasses(pixels, count).Select(e => e.Embedding).ToArray();

    /// <summary>
    /// Embeds <paramref name="count"/> preprocessed images laid out contiguously in <paramref name="pixels"/>
    /// (<c>[count, 3, S, S]</c>); returns per image its unit vector and, with a classifier head, its class probabilities
    /// (one ONNX Runtime run per batch of up to <see cref="OnnxEncoder.MaxBatch"/> fetches both outputs).
    /// </summary>
    /// <exception cref="ArgumentException">The buffer does not hold <c>count·3·S·S</c> values.</exception>
    public ImageEncoding[] EncodeWithClasses(float[] pixels, int count)
    {
        if (pixels.Length < count * ValuesPerImage) throw new ArgumentException($"expected {count}×{ValuesPerImage} values, got {pixels.Length}", nameof(pixels));
        var s = _spec.Preprocess.CropSize;
        var result = new List<ImageEncoding>(count);
        for (var start = 0; start < count; start += MaxBatch)
        {
            var n = Math.Min(MaxBatch, count - start);
            var memory = new Memory<float>(pixels, start * ValuesPerImage, n * ValuesPerImage);
            using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, memory, [n, 3, s, s]);
            var (embeddings, probs) = Run([_spec.Input], [value], n, _spec.Classifier?.Output, _spec.Classifier?.Labels.Length ?? 0);
            for (var i = 0; i < n; i++) result.Add(new ImageEncoding(embeddings[i], probs?[i]));
        }
        return result.ToArray();
    }

    /// <summary>Pairs <paramref name="probabilities"/> (<c>[L]</c>, label order) with the classifier's labels; null for null.</summary>
    public IReadOnlyDictionary<string, double>? Classification(float[]? probabilities)
    {
        if (probabilities is null || _spec.Classifier is not { } head) return null;
        var map = new Dictionary<string, double>(head.Labels.Length, StringComparer.Ordinal);
        for (var i = 0; i < head.Labels.Length; i++) map[head.Labels[i]] = probabilities[i];
        return map;
    }
}
