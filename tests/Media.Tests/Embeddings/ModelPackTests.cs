using System.Text.Json.Nodes;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;

namespace Media.Tests.Embeddings;

public class ModelPackTests
{
    static readonly OnnxSessionFactory Cpu = new(new SessionSettings { Device = ExecutionDevice.Cpu, IntraOpThreads = 1 });

    /// <summary>Loads the pack and opens every tower (towers open lazily otherwise).</summary>
    static ModelPack LoadAll(string dir)
    {
        var pack = ModelPack.Load(dir, Cpu);
        try { pack.LoadTowers(); }
        catch { pack.Dispose(); throw; }
        return pack;
    }

    static void EditManifest(string dir, Action<JsonObject> edit)
    {
        var path = Path.Combine(dir, "pack.json");
        var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(node);
        File.WriteAllText(path, node.ToJsonString());
    }

    [Fact]
    public void Fixture_pack_loads_with_both_towers()
    {
        using var pack = ModelPack.Load(Paths.ColorClip, Cpu);
        Assert.Equal("color-clip", pack.Name);
        Assert.False(pack.Manifest.Semantic);
        Assert.Equal(16, pack.Image!.Dimension);
        Assert.Equal(16, pack.Text!.Dimension);
        Assert.Equal("cpu", pack.Text.Provider);
    }

    [Fact]
    public void Altered_onnx_file_fails_its_hash_check()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyFolder(Paths.ColorClip, "pack");
        var model = Path.Combine(dir, "vision_model.onnx");
        var bytes = File.ReadAllBytes(model);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(model, bytes);
        var ex = Assert.Throws<ModelPackException>(() => ModelPack.Load(dir, Cpu));
        Assert.Contains("pack.json", ex.Message);
        Assert.Contains("image.model 'vision_model.onnx' fails its SHA-256 check", ex.Message);
    }

    [Fact]
    public void Wrong_tensor_name_is_named()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyFolder(Paths.ColorClip, "pack");
        EditManifest(dir, m => m["text"]!["output"] = "pooler_output");
        var ex = Assert.Throws<ModelPackException>(() => LoadAll(dir));
        Assert.Contains("text.output 'pooler_output' is not an output", ex.Message);
        Assert.Contains("text_embeds", ex.Message);
    }

    [Fact]
    public void Missing_file_is_named()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyFolder(Paths.ColorClip, "pack");
        File.Delete(Path.Combine(dir, "merges.txt"));
        var ex = Assert.Throws<ModelPackException>(() => ModelPack.Load(dir, Cpu));
        Assert.Contains("text.tokenizer.merges 'merges.txt' is missing", ex.Message);
    }

    [Fact]
    public void Wrong_dimension_is_reported_against_the_model_shape()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyFolder(Paths.ColorClip, "pack");
        EditManifest(dir, m => m["dimension"] = 512);
        var ex = Assert.Throws<ModelPackException>(() => LoadAll(dir));
        Assert.Contains("image.output 'image_embeds' has shape [?,16], expected [?,512]", ex.Message);
    }

    [Fact]
    public void Wrong_input_element_type_or_size_is_reported()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyFolder(Paths.ColorClip, "pack");
        EditManifest(dir, m => { m["image"]!["preprocess"]!["size"] = 336; m["image"]!["preprocess"]!["cropSize"] = 336; });
        var ex = Assert.Throws<ModelPackException>(() => LoadAll(dir));
        Assert.Contains("image.input 'pixel_values' has shape [?,3,224,224], expected [?,3,336,336]", ex.Message);
    }

    [Fact]
    public void Not_an_onnx_file_is_reported()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyFolder(Paths.ColorClip, "pack");
        File.WriteAllText(Path.Combine(dir, "text_model.onnx"), "not a model");
        var sha = ModelPack.Sha256OfFile(Path.Combine(dir, "text_model.onnx"));
        EditManifest(dir, m => m["text"]!["model"]!["sha256"] = sha);
        var ex = Assert.Throws<ModelPackException>(() => LoadAll(dir));
        Assert.Contains("text.model 'text_model.onnx' is not a loadable ONNX model", ex.Message);
    }

    [Theory]
    [InlineData("clip-vit-b32", 4)]
    [InlineData("clip-vit-b32-quantized", 4)]
    [InlineData("clap-htsat-unfused", 3)]
    public void Real_pack_manifests_parse_and_pin_every_file(string name, int fileCount)
    {
        var dir = Path.Combine(Paths.RepoRoot, "models", name);
        var m = ModelPack.ReadManifest(dir);
        Assert.True(m.Semantic);
        Assert.Equal(512, m.Dimension);
        var files = ModelPack.Files(m).ToArray();
        Assert.Equal(fileCount, files.Length);
        Assert.All(files, f =>
        {
            Assert.Matches("^[0-9a-f]{64}$", f.File.Sha256);
            Assert.StartsWith("https://huggingface.co/", f.File.Url);
        });
        // Not downloaded here: loading names the missing file and says how to get it.
        if (!File.Exists(Path.Combine(dir, files[0].File.File)))
        {
            var ex = Assert.Throws<ModelPackException>(() => ModelPack.Load(dir, Cpu));
            Assert.Contains("make models", ex.Message);
        }
    }

    static string NsfwPack => Path.Combine(Paths.RepoRoot, "models", "nsfw-mobilenet-v2");

    [Fact]
    public void Nsfw_pack_loads_with_its_classifier_and_nsfwjs_preprocessing_and_no_text_tower()
    {
        using var pack = NsfwPipelineTests.LoadPack();
        Assert.True(pack.Manifest.Semantic);
        Assert.Null(pack.Text);
        Assert.Equal(1280, pack.Image!.Dimension);
        Assert.Equal(["Drawing", "Hentai", "Neutral", "Porn", "Sexy"], pack.Image.Labels);
        Assert.Equal("probs", pack.Image.Classifier!.Output);
        var p = pack.Image.Preprocessing;
        Assert.Equal(("stretch", "bilinear-align-corners", 224, 224), (p.Resize, p.Resample, p.Size, p.CropSize));
        Assert.True(p.NeedsFullResolution);
    }

    [Theory]
    [InlineData("resize", "squash", "image.preprocess.resize 'squash' is not supported (shortest_edge, stretch)")]
    [InlineData("resample", "lanczos", "image.preprocess.resample 'lanczos' is not supported (bicubic, bilinear, bilinear-align-corners)")]
    [InlineData("size", "256", "image.preprocess.resize 'stretch' does not crop, so cropSize must equal size, got size 256, cropSize 224")]
    public void Bad_preprocessing_is_named(string field, string value, string message)
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyFolder(Paths.ColorClip, "pack");
        EditManifest(dir, m =>
        {
            var pre = m["image"]!["preprocess"]!;
            pre["resize"] = "stretch";
            pre[field] = int.TryParse(value, out var n) ? n : value;
        });
        var ex = Assert.Throws<ModelPackException>(() => ModelPack.ReadManifest(dir));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void Stretch_and_align_corners_load_on_any_pack_that_declares_them()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyFolder(Paths.ColorClip, "pack");
        EditManifest(dir, m => { m["image"]!["preprocess"]!["resize"] = "stretch"; m["image"]!["preprocess"]!["resample"] = "bilinear-align-corners"; });
        using var pack = ModelPack.Load(dir, Cpu);
        Assert.True(pack.Image!.Preprocessing.NeedsFullResolution);
        Assert.Empty(pack.Image.Labels);
    }

    [Theory]
    [InlineData("""{"output": "probs", "labels": ["Drawing", "Hentai", "Neutral", "Porn"]}""", "image.classifier.output 'probs' has shape [?,5], expected [?,4]")]
    [InlineData("""{"output": "logits", "labels": ["a", "b", "c", "d", "e"]}""", "image.classifier.output 'logits' is not an output of the ONNX model (it has: embedding, probs)")]
    [InlineData("""{"output": "probs", "labels": []}""", "image.classifier.labels is empty")]
    [InlineData("""{"output": "probs", "labels": ["a", "b", "A", "d", "e"]}""", "image.classifier.labels names 'a' twice")]
    [InlineData("""{"output": "embedding", "labels": ["a"]}""", "image.classifier.output 'embedding' is the embedding output too")]
    public void Classifier_head_is_checked_against_the_model(string classifier, string message)
    {
        using var tmp = new TempDir();
        NsfwPipelineTests.LoadPack().Dispose(); // fails with "run make packs" when the model is missing
        var dir = tmp.CopyFolder(NsfwPack, "pack");
        EditManifest(dir, m => m["image"]!["classifier"] = JsonNode.Parse(classifier));
        var ex = Assert.Throws<ModelPackException>(() => LoadAll(dir));
        Assert.Contains("pack.json", ex.Message);
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void Towers_open_lazily_so_a_broken_text_tower_fails_only_text()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyFolder(Paths.ColorClip, "pack");
        EditManifest(dir, m => m["text"]!["output"] = "pooler_output");
        using var pack = ModelPack.Load(dir, Cpu);
        Assert.True(pack.HasText);
        Assert.Equal(16, pack.Image!.Dimension); // the image tower works without the text tower ever opening
        var ex = Assert.Throws<ModelPackException>(() => pack.Text);
        Assert.Contains("text.output 'pooler_output' is not an output", ex.Message);
        Assert.Throws<ModelPackException>(() => pack.LoadTowers(image: false, text: true, audio: false));
    }

    [Fact]
    public void Stamp_remembers_hashes_and_a_changed_file_is_hashed_again()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyFolder(Paths.ColorClip, "pack");
        var model = Path.Combine(dir, "vision_model.onnx");
        ModelPack.Load(dir, Cpu).Dispose();
        Assert.Equal(ModelPack.Sha256OfFile(model), PackStamp.Open(dir).Lookup(model));

        // Same length, new bytes and a new mtime: the stamp no longer vouches, the hash check runs and fails.
        var bytes = File.ReadAllBytes(model);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(model, bytes);
        File.SetLastWriteTimeUtc(model, DateTime.UtcNow.AddMinutes(1));
        Assert.Null(PackStamp.Open(dir).Lookup(model));
        var ex = Assert.Throws<ModelPackException>(() => ModelPack.Load(dir, Cpu));
        Assert.Contains("image.model 'vision_model.onnx' fails its SHA-256 check", ex.Message);
    }

    [Fact]
    public void Verify_hashes_even_a_file_whose_size_and_mtime_were_kept()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyFolder(Paths.ColorClip, "pack");
        var model = Path.Combine(dir, "vision_model.onnx");
        ModelPack.Load(dir, Cpu).Dispose();
        var mtime = File.GetLastWriteTimeUtc(model);
        var bytes = File.ReadAllBytes(model);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(model, bytes);
        File.SetLastWriteTimeUtc(model, mtime);

        ModelPack.Load(dir, Cpu).Dispose(); // the stamp vouches: size and mtime are unchanged (its documented limit)
        var ex = Assert.Throws<ModelPackException>(() => ModelPack.Load(dir, Cpu, verify: true));
        Assert.Contains("fails its SHA-256 check", ex.Message);
    }
}
