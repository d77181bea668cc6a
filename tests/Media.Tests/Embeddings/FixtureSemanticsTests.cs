using System.Numerics.Tensors;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;

namespace Media.Tests.Embeddings;

/// <summary>The color-clip fixture's space means something: colour words sit next to images of that colour.</summary>
public class FixtureSemanticsTests : IDisposable
{
    readonly ModelPack _pack = ModelPack.Load(Paths.ColorClip, new OnnxSessionFactory(new SessionSettings { Device = ExecutionDevice.Cpu, IntraOpThreads = 1 }));

    /// <summary>A uniform image of one RGB colour, already CLIP-normalised as the pack says.</summary>
    float[] Uniform(float r, float g, float b)
    {
        var p = _pack.Image!.Preprocessing;
        var plane = p.CropSize * p.CropSize;
        var pixels = new float[3 * plane];
        float[] rgb = [r, g, b];
        for (var c = 0; c < 3; c++) Array.Fill(pixels, (rgb[c] - p.Mean[c]) / p.Std[c], c * plane, plane);
        return pixels;
    }

    [Fact]
    public void A_red_photo_is_nearer_to_red_than_to_blue()
    {
        var text = _pack.Text!.Encode(["a red photo"])[0];
        var red = _pack.Image!.Encode(Uniform(0.85f, 0.1f, 0.12f), 1)[0];
        var blue = _pack.Image.Encode(Uniform(0.1f, 0.15f, 0.85f), 1)[0];
        Assert.True(TensorPrimitives.Dot(text, red) > 0.9f);
        Assert.True(TensorPrimitives.Dot(text, blue) < 0.1f);
    }

    [Fact]
    public void Embeddings_are_unit_norm_and_batches_match_single_runs()
    {
        var texts = _pack.Text!.Encode(["red", "a photo of a cat", "green and blue"]);
        Assert.All(texts, v => Assert.Equal(1f, TensorPrimitives.Norm(v), 3));
        var single = _pack.Text.Encode(["green and blue"])[0];
        Assert.Equal(single, texts[2]);
        // Two colours share the vector.
        Assert.Equal(texts[2][1], texts[2][2], 3);
        // Text without colour words is orthogonal to every colour.
        Assert.True(TensorPrimitives.Dot(texts[0], texts[1]) < 0.01f);
    }

    [Fact]
    public void Image_batches_give_the_same_vectors_as_single_images()
    {
        var a = Uniform(0.9f, 0.9f, 0.1f);
        var b = Uniform(0.05f, 0.05f, 0.05f);
        var batch = _pack.Image!.Encode([.. a, .. b], 2);
        Assert.True(TensorPrimitives.CosineSimilarity(_pack.Image.Encode(b, 1)[0], batch[1]) > 0.99999f);
        var words = _pack.Text!.Encode(["yellow", "black"]);
        Assert.True(TensorPrimitives.Dot(batch[0], words[0]) > TensorPrimitives.Dot(batch[0], words[1]));
        Assert.True(TensorPrimitives.Dot(batch[1], words[1]) > TensorPrimitives.Dot(batch[1], words[0]));
    }

    public void Dispose() => _pack.Dispose();
}
