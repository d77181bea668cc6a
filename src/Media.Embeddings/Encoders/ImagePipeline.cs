using Media.Codecs;
using Media.Embeddings.Preprocessing;

namespace Media.Embeddings.Encoders;

/// <summary>
/// The pack's image preprocessing → image encoder for already decoded images, for one pack (the query and policy path; ingest
/// batches through <c>EncodeStage</c>). Preprocessing runs in parallel across the images; the encoder is called once.
/// </summary>
public sealed class ImagePipeline(ImageEncoder encoder)
{
    readonly ClipImagePreprocessor _pre = new(encoder.Preprocessing);

    public ImageEncoder Encoder => encoder;

    /// <summary>Decode options that give the encoder enough pixels: at least the pack's resize size on the shortest side, or
    /// the full resolution for a resampler without antialiasing (<see cref="Packs.ImagePreprocessing.NeedsFullResolution"/>).</summary>
    public DecodeOptions DecodeOptions { get; } = encoder.Preprocessing.NeedsFullResolution
        ? DecodeOptions.FullResolution
        : new() { MinShortSide = encoder.Preprocessing.Size };

    /// <summary>Writes the <c>[3, S, S]</c> tensor of a decoded image into <paramref name="destination"/>.</summary>
    public void Preprocess(RgbImage image, Span<float> destination) => _pre.Preprocess(image, destination);

    /// <summary>Embeds already decoded images in one batch; returns one unit vector per image.</summary>
    public float[][] Embed(IReadOnlyList<RgbImage> images) => Encode(images).Select(e => e.Embedding).ToArray();

    /// <summary>Embeds and, with a classifier head, classifies already decoded images in one batch; one result per image.</summary>
    public ImageEncoding[] Encode(IReadOnlyList<RgbImage> images)
    {
        var per = _pre.ValuesPerImage;
        var tensor = new float[images.Count * per];
        Parallel.For(0, images.Count, i => _pre.Preprocess(images[i], tensor.AsSpan(i * per, per)));
        return encoder.EncodeWithClasses(tensor, images.Count);
    }
}
