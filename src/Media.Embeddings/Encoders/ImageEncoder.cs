using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Media.Embeddings.Encoders;

/// <summary>
/// Image tower of a pack: preprocessed pixels <c>pixel_values float32 [B,3,S,S]</c> (NCHW, normalised
/// as the pack's <see cref="ImagePreprocessing"/> says) → unit-norm <c>float32 [B,D]</c>.
/// </summary>
public sealed class ImageEncoder : OnnxEncoder
{
    readonly ImageModality _spec;
    /// <summary>The pack's preprocessing; <c>CropSize</c> is the input edge S.</summary>
    public ImagePreprocessing Preprocessing => _spec.Preprocess;
    /// <summary>Floats per image: 3·S·S.</summary>
    public int ValuesPerImage => 3 * _spec.Preprocess.CropSize * _spec.Preprocess.CropSize;

    ImageEncoder(EngagedSession session, ImageModality spec, int dimension) : base(session, spec.Output, dimension) => _spec = spec;

    internal static ImageEncoder Create(EngagedSession session, ImageModality spec, int dimension, string where) =>
        Validated(session, where, "image", [spec.Input], () =>
        {
            var s = spec.Preprocess.CropSize;
            ExpectTensor(session.Session.InputMetadata, "input", spec.Input, TensorElementType.Float, [-1, 3, s, s], where, "image.input");
            ExpectTensor(session.Session.OutputMetadata, "output", spec.Output, TensorElementType.Float, [-1, dimension], where, "image.output");
            return new ImageEncoder(session, spec, dimension);
        });

    /// <summary>
    /// Embeds <paramref name="count"/> preprocessed images laid out contiguously in <paramref name="pixels"/>
    /// (<c>[count, 3, S, S]</c>); returns one unit vector per image.
    /// </summary>
    /// <exception cref="ArgumentException">The buffer does not hold <c>count·3·S·S</c> values.</exception>
    public float[][] Encode(float[] pixels, int count)
    {
        if (pixels.Length < count * ValuesPerImage) throw new ArgumentException($"expected {count}×{ValuesPerImage} values, got {pixels.Length}", nameof(pixels));
        var s = _spec.Preprocess.CropSize;
        var result = new List<float[]>(count);
        for (var start = 0; start < count; start += MaxBatch)
        {
            var n = Math.Min(MaxBatch, count - start);
            var memory = new Memory<float>(pixels, start * ValuesPerImage, n * ValuesPerImage);
            using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, memory, [n, 3, s, s]);
            result.AddRange(Run([_spec.Input], [value], n));
        }
        return result.ToArray();
    }
}
