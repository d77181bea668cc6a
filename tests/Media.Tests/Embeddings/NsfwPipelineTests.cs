using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Media.Codecs;
using Media.Embeddings.Encoders;
using Media.Embeddings.Packs;
using Media.Embeddings.Preprocessing;
using Media.Embeddings.Runtime;
using Xunit.Abstractions;

namespace Media.Tests.Embeddings;

/// <summary>
/// The nsfw pack through <b>our</b> whole image path — <see cref="ModelPack.Load"/> of its pack.json, our decoder, the
/// pack's declared preprocessing (<c>stretch</c> + <c>bilinear-align-corners</c>, <see cref="ClipImagePreprocessor"/>) and
/// ONNX Runtime with both outputs — against nsfwjs's own <c>infer()</c> run by TensorFlow.js on the same files
/// (tools/make_nsfw_pipeline_reference.mjs → Fixtures/nsfw/pipeline.json). Each stage is checked on its own, so a
/// failure says where: the decoded RGB bytes (Pillow/libjpeg-turbo in the generator), the float32 model input (bit for
/// bit), then probabilities and pooled feature.
/// </summary>
public class NsfwPipelineTests(ITestOutputHelper output)
{
    const double ProbTolerance = 1e-5;
    const double FeatureTolerance = 1e-5;

    static string PackDir => Path.Combine(Paths.RepoRoot, "models", "nsfw-mobilenet-v2");
    static string Reference => Path.Combine(Paths.RepoRoot, "tests", "Media.Tests", "Fixtures", "nsfw", "pipeline.json");

    sealed record Case(string Id, string File, string RgbSha256, string InputSha256, double[] Probs, double FeatureNorm, double[] FeatureFirst, (int Index, double Value)[] FeatureTop);

    static List<Case> Cases()
    {
        var root = JsonDocument.Parse(File.ReadAllText(Reference)).RootElement;
        var list = new List<Case>();
        foreach (var im in root.GetProperty("images").EnumerateArray())
        {
            var rel = im.GetProperty("file").GetString()!;
            var file = Path.GetFullPath(Path.Combine(Paths.RepoRoot, rel));
            Assert.True(File.Exists(file), $"{file} is missing");
            Assert.Equal(im.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))));
            list.Add(new Case(im.GetProperty("id").GetString()!, file, im.GetProperty("rgbSha256").GetString()!, im.GetProperty("inputSha256").GetString()!,
                im.GetProperty("probs").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
                im.GetProperty("featureNorm").GetDouble(),
                im.GetProperty("featureFirst").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
                im.GetProperty("featureTop").EnumerateArray().Select(e => (e[0].GetInt32(), e[1].GetDouble())).ToArray()));
        }
        Assert.True(list.Count >= 6);
        return list;
    }

    /// <summary>Loads the real pack through pack.json, failing with "run make packs" when its model is missing or stale.</summary>
    internal static ModelPack LoadPack()
    {
        var model = Path.Combine(PackDir, "model.onnx");
        Assert.True(File.Exists(model), $"{model} is missing: run make packs");
        try
        {
            return ModelPack.Load(PackDir, new OnnxSessionFactory(new SessionSettings { Device = ExecutionDevice.Cpu, IntraOpThreads = 1 }));
        }
        catch (ModelPackException ex) when (ex.Message.Contains("SHA-256"))
        {
            throw new InvalidOperationException($"{ex.Message}: run make packs", ex);
        }
    }

    /// <summary>NCHW <c>[3,224,224]</c> → the NHWC float32 bytes tfjs holds, hashed.</summary>
    static string NhwcSha256(float[] chw, int size)
    {
        var plane = size * size;
        var nhwc = new float[chw.Length];
        for (var p = 0; p < plane; p++)
            for (var c = 0; c < 3; c++)
                nhwc[p * 3 + c] = chw[c * plane + p];
        return Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(nhwc.AsSpan())));
    }

    [Fact]
    public void Our_decode_preprocessing_and_onnx_run_match_nsfwjs_on_whole_images()
    {
        using var pack = LoadPack();
        var image = pack.Image!;
        Assert.Equal(["Drawing", "Hentai", "Neutral", "Porn", "Sexy"], image.Labels);
        Assert.Equal((ImagePreprocessing.ResizeStretch, ImagePreprocessing.ResampleBilinearAlignCorners), (image.Preprocessing.Resize, image.Preprocessing.Resample));
        var pipeline = new ImagePipeline(image);
        Assert.Equal(0, pipeline.DecodeOptions.MinShortSide); // full resolution, as nsfwjs sees it
        var decoder = new ImageDecoder();
        var cases = Cases();

        var decoded = cases.Select(c => decoder.Decode(File.ReadAllBytes(c.File), pipeline.DecodeOptions).Image).ToArray();
        var batch = pipeline.Encode(decoded);
        double maxProb = 0, maxFeature = 0, maxBatch = 0;
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            Assert.True(c.RgbSha256 == Convert.ToHexStringLower(SHA256.HashData(decoded[i].Pixels)),
                $"{c.Id}: our decode of {c.File} differs from the generator's (Pillow, libjpeg-turbo)");
            var tensor = new float[image.ValuesPerImage];
            pipeline.Preprocess(decoded[i], tensor);
            Assert.True(c.InputSha256 == NhwcSha256(tensor, 224), $"{c.Id}: our preprocessed tensor differs from the model input nsfwjs builds");

            var single = pipeline.Encode([decoded[i]])[0];
            var probs = single.Probabilities!;
            for (var k = 0; k < 5; k++)
            {
                maxProb = Math.Max(maxProb, Math.Abs(probs[k] - c.Probs[k]));
                maxBatch = Math.Max(maxBatch, Math.Abs(batch[i].Probabilities![k] - probs[k]));
            }
            var emb = single.Embedding;
            Assert.True(Math.Abs(Math.Sqrt(emb.Sum(v => (double)v * v)) - 1) < 1e-5, $"{c.Id}: embedding not unit norm");
            for (var k = 0; k < c.FeatureFirst.Length; k++) maxFeature = Math.Max(maxFeature, Math.Abs(emb[k] - c.FeatureFirst[k] / c.FeatureNorm));
            foreach (var (index, v) in c.FeatureTop) maxFeature = Math.Max(maxFeature, Math.Abs(emb[index] - v / c.FeatureNorm));
            for (var k = 0; k < emb.Length; k++) maxBatch = Math.Max(maxBatch, Math.Abs(batch[i].Embedding[k] - emb[k]));
            output.WriteLine($"{c.Id,-22} ours [{string.Join(", ", probs.Select(p => p.ToString("F6")))}]  nsfwjs [{string.Join(", ", c.Probs.Select(p => p.ToString("F6")))}]");
        }
        output.WriteLine($"max |Δprob| {maxProb:E2}, max |Δembedding| {maxFeature:E2}, batch of {cases.Count} vs single {maxBatch:E2}");
        Assert.True(maxProb <= ProbTolerance, $"max |Δprob| against nsfwjs {maxProb:E3} > {ProbTolerance}");
        Assert.True(maxFeature <= FeatureTolerance, $"max |Δembedding| against nsfwjs {maxFeature:E3} > {FeatureTolerance}");
        Assert.True(maxBatch <= 1e-5, $"batch differs from single images by {maxBatch:E3}");
    }

    /// <summary>
    /// Why the pack is fed full-resolution decodes: align-corners bilinear reads 4 source pixels per output pixel and does
    /// not antialias, so a JPEG decoded at a DCT-reduced scale (what CLIP packs get, ≥ 512 px) changes the probabilities
    /// far beyond rounding on a large photo.
    /// </summary>
    [Fact]
    public void A_reduced_scale_decode_would_change_the_probabilities_of_a_large_photo()
    {
        using var pack = LoadPack();
        var pipeline = new ImagePipeline(pack.Image!);
        var c = Cases().Single(c => c.Id == "bridge-orig");
        var bytes = File.ReadAllBytes(c.File);
        var decoder = new ImageDecoder();
        var full = pipeline.Encode([decoder.Decode(bytes, pipeline.DecodeOptions).Image])[0].Probabilities!;
        var scaled = pipeline.Encode([decoder.Decode(bytes, new DecodeOptions { MinShortSide = 512 }).Image])[0].Probabilities!;
        var delta = full.Zip(scaled, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"full [{string.Join(", ", full.Select(p => p.ToString("F4")))}]  scaled ≥512 [{string.Join(", ", scaled.Select(p => p.ToString("F4")))}]  max |Δ| {delta:F4}");
        Assert.True(Math.Abs(full[0] - c.Probs[0]) < ProbTolerance);
        Assert.True(delta > 0.05, $"a reduced-scale decode moved the probabilities by only {delta:F4}; full-resolution decoding may no longer be needed");
    }
}
