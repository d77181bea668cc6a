using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit.Abstractions;

namespace Media.Tests.Embeddings;

/// <summary>
/// Proves the conversion of the nsfwjs MobileNetV2 (tools/convert_nsfwjs.py, <c>make packs</c>): the ONNX model
/// reproduces the probabilities and pooled feature that TensorFlow.js computes with the original model
/// (tools/make_nsfw_reference.mjs → Fixtures/nsfw/reference.json) on the same raw 224×224 RGB inputs.
/// </summary>
public class NsfwPackTests(ITestOutputHelper output)
{
    const double ProbTolerance = 1e-5;
    const double FeatureTolerance = 1e-5; // on the unit-norm embedding (components up to ~0.45)

    static string PackDir => Path.Combine(Paths.RepoRoot, "models", "nsfw-mobilenet-v2");
    static string FixtureDir => Path.Combine(Paths.RepoRoot, "tests", "Media.Tests", "Fixtures", "nsfw");

    sealed record Reference(string Id, float[] Pixels, double[] Probs, double FeatureNorm, double[] FeatureFirst, (int Index, double Value)[] FeatureTop);

    static (JsonElement Manifest, string ModelPath) Pack()
    {
        var manifestPath = Path.Combine(PackDir, "pack.json");
        Assert.True(File.Exists(manifestPath), $"{manifestPath} is missing");
        var manifest = JsonDocument.Parse(File.ReadAllText(manifestPath)).RootElement;
        var model = manifest.GetProperty("image").GetProperty("model");
        var path = Path.Combine(PackDir, model.GetProperty("file").GetString()!);
        Assert.True(File.Exists(path), $"{path} is missing: run make packs");
        using var stream = File.OpenRead(path);
        var sha = Convert.ToHexStringLower(SHA256.HashData(stream));
        Assert.True(sha == model.GetProperty("sha256").GetString(),
            $"{path} has SHA-256 {sha}, pack.json pins {model.GetProperty("sha256").GetString()}: run make packs");
        return (manifest, path);
    }

    static List<Reference> References()
    {
        var root = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureDir, "reference.json"))).RootElement;
        Assert.Equal(224, root.GetProperty("size").GetInt32());
        var list = new List<Reference>();
        foreach (var im in root.GetProperty("images").EnumerateArray())
        {
            var bytes = File.ReadAllBytes(Path.Combine(FixtureDir, im.GetProperty("file").GetString()!));
            Assert.Equal(im.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
            Assert.Equal(224 * 224 * 3, bytes.Length);
            // RGB24 HWC bytes → float32(byte / 255) CHW, exactly what the reference fed to tfjs in HWC order.
            var chw = new float[bytes.Length];
            const int plane = 224 * 224;
            for (var p = 0; p < plane; p++)
                for (var c = 0; c < 3; c++)
                    chw[c * plane + p] = bytes[p * 3 + c] / 255f;
            list.Add(new Reference(
                im.GetProperty("id").GetString()!,
                chw,
                im.GetProperty("probs").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
                im.GetProperty("featureNorm").GetDouble(),
                im.GetProperty("featureFirst").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
                im.GetProperty("featureTop").EnumerateArray().Select(e => (e[0].GetInt32(), e[1].GetDouble())).ToArray()));
        }
        Assert.NotEmpty(list);
        return list;
    }

    static (float[] Embedding, float[] Probs) Run(InferenceSession session, IReadOnlyList<Reference> batch)
    {
        var input = new float[batch.Count * 3 * 224 * 224];
        for (var i = 0; i < batch.Count; i++) batch[i].Pixels.CopyTo(input, i * batch[i].Pixels.Length);
        using var value = OrtValue.CreateTensorValueFromMemory(input, [batch.Count, 3, 224, 224]);
        // Keep RunOptions referenced (and disposed) past Run: an unreferenced one can be finalized mid-run.
        using var options = new RunOptions();
        using var results = session.Run(options, ["pixel_values"], [value], ["embedding", "probs"]);
        Assert.Equal([batch.Count, 1280L], results[0].GetTensorTypeAndShape().Shape);
        Assert.Equal([batch.Count, 5L], results[1].GetTensorTypeAndShape().Shape);
        return (results[0].GetTensorDataAsSpan<float>().ToArray(), results[1].GetTensorDataAsSpan<float>().ToArray());
    }

    [Fact]
    public void Converted_mobilenet_v2_matches_tfjs_probabilities_and_pooled_feature()
    {
        var (manifest, modelPath) = Pack();
        var image = manifest.GetProperty("image");
        Assert.Equal(1280, manifest.GetProperty("dimension").GetInt32());
        Assert.Equal("pixel_values", image.GetProperty("input").GetString());
        Assert.Equal("embedding", image.GetProperty("output").GetString());
        Assert.Equal("probs", image.GetProperty("classifier").GetProperty("output").GetString());
        Assert.Equal(["Drawing", "Hentai", "Neutral", "Porn", "Sexy"],
            image.GetProperty("classifier").GetProperty("labels").EnumerateArray().Select(e => e.GetString()!).ToArray());

        using var session = new InferenceSession(modelPath);
        Assert.Equal(["pixel_values"], session.InputNames);
        Assert.Equal(["embedding", "probs"], session.OutputNames);
        var refs = References();

        double maxProb = 0, maxFeature = 0, maxBatchVsSingle = 0;
        var batched = Run(session, refs);
        for (var i = 0; i < refs.Count; i++)
        {
            var r = refs[i];
            var (emb, probs) = Run(session, [r]);
            for (var k = 0; k < 5; k++)
            {
                maxProb = Math.Max(maxProb, Math.Abs(probs[k] - r.Probs[k]));
                maxProb = Math.Max(maxProb, Math.Abs(batched.Probs[i * 5 + k] - r.Probs[k]));
            }
            var norm = Math.Sqrt(emb.Sum(v => (double)v * v));
            Assert.True(Math.Abs(norm - 1) < 1e-5, $"{r.Id}: |embedding| = {norm}");
            for (var k = 0; k < r.FeatureFirst.Length; k++)
                maxFeature = Math.Max(maxFeature, Math.Abs(emb[k] - r.FeatureFirst[k] / r.FeatureNorm));
            foreach (var (index, v) in r.FeatureTop)
                maxFeature = Math.Max(maxFeature, Math.Abs(emb[index] - v / r.FeatureNorm));
            for (var k = 0; k < 1280; k++) maxBatchVsSingle = Math.Max(maxBatchVsSingle, Math.Abs(batched.Embedding[i * 1280 + k] - emb[k]));
            output.WriteLine($"{r.Id}: probs [{string.Join(", ", probs.Select(p => p.ToString("F6")))}]  tfjs [{string.Join(", ", r.Probs.Select(p => p.ToString("F6")))}]");
        }
        output.WriteLine($"max |Δprob| {maxProb:E2}, max |Δembedding| {maxFeature:E2}, batch vs single {maxBatchVsSingle:E2}");
        Assert.True(maxProb <= ProbTolerance, $"max |Δprob| against tfjs {maxProb:E3} > {ProbTolerance}");
        Assert.True(maxFeature <= FeatureTolerance, $"max |Δembedding| against tfjs {maxFeature:E3} > {FeatureTolerance}");
        Assert.True(maxBatchVsSingle <= 1e-5, $"batch of {refs.Count} differs from single images by {maxBatchVsSingle:E3}");
    }
}
