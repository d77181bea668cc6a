using System.CommandLine;
using Media.Codecs;
using Media.Embeddings.Encoders;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media embed --pack DIR [--device D] [--json] (--text T... | --image FILE...)</c>: one unit-norm embedding per input;
/// for images of a pack with a classifier head also the class probabilities (<c>"classification": {label: p}</c>).
/// </summary>
static class EmbedCommand
{
    public static Command Create()
    {
        var pack = new Option<DirectoryInfo>("--pack") { Description = "Model pack folder", Required = true };
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var logLevel = CommonOptions.LogLevel();
        var json = CommonOptions.Json();
        var text = new Option<string[]>("--text") { Description = "Text to embed (repeatable)", AllowMultipleArgumentsPerToken = true };
        var image = new Option<string[]>("--image") { Description = "Image file to embed (repeatable)", AllowMultipleArgumentsPerToken = true };
        var command = new Command("embed", "Embed texts or images with a model pack") { pack, device, threads, logLevel, json, text, image };
        command.SetAction(parse =>
        {
            var texts = parse.GetValue(text) ?? [];
            var images = parse.GetValue(image) ?? [];
            if (texts.Length == 0 && images.Length == 0)
            {
                CliOutput.Error("give --text or --image");
                return 2;
            }
            using var logging = CommonOptions.Logging(parse.GetValue(logLevel));
            ModelPack loaded;
            try
            {
                var factory = new OnnxSessionFactory(CommonOptions.Sessions(parse.GetValue(device), parse.GetValue(threads)), logging.CreateLogger("onnxruntime"));
                loaded = ModelPack.Load(parse.GetValue(pack)!.FullName, factory);
            }
            catch (Exception ex) when (ex is ModelPackException or ExecutionProviderException or FormatException)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
            using (loaded)
            {
                var asJson = parse.GetValue(json);
                if (texts.Length > 0)
                {
                    if (loaded.Text is null)
                    {
                        CliOutput.Error(ModelPack.NoTextTower(loaded.Name));
                        return 2;
                    }
                    var vectors = loaded.Text.Encode(texts);
                    for (var i = 0; i < texts.Length; i++) Emit(asJson, texts[i], "text", loaded, vectors[i]);
                }
                if (images.Length > 0)
                {
                    if (loaded.Image is null)
                    {
                        CliOutput.Error($"pack '{loaded.Name}' has no image tower");
                        return 2;
                    }
                    return EmbedImages(loaded, images, asJson);
                }
            }
            return 0;
        });
        return command;
    }

    /// <summary>Decodes every image (a rejected one is reported and skipped), then embeds the rest in one batch. Exit 1 if any was rejected.</summary>
    static int EmbedImages(ModelPack pack, string[] paths, bool json)
    {
        var decoder = new ImageDecoder();
        var pipeline = new ImagePipeline(pack.Image!);
        var reader = new SourceReader(decoder.Limits);
        var decoded = paths.AsParallel().AsOrdered().Select(path =>
        {
            try { return (path, image: decoder.Decode(reader.ReadFile(path), pipeline.DecodeOptions).Image, error: (string?)null); }
            catch (MediaRejectedException ex) { return (path, image: (RgbImage?)null, error: ex.Message); }
        }).ToArray();
        var ok = decoded.Where(d => d.image is not null).ToArray();
        var encodings = ok.Length == 0 ? [] : pipeline.Encode(ok.Select(d => d.image!).ToArray());
        var next = 0;
        foreach (var (path, image, error) in decoded)
        {
            if (image is not null)
            {
                var e = encodings[next++];
                Emit(json, path, "image", pack, e.Embedding, pack.Image!.Classification(e.Probabilities));
            }
            else if (json) CliOutput.Line(new { input = path, modality = "image", pack = pack.Name, error });
            else CliOutput.Error($"{path}: {error}");
        }
        return ok.Length == decoded.Length ? 0 : 1;
    }

    /// <summary>One output line: JSON <c>{"input", "modality", "pack", "dim", "embedding"}</c> plus <c>"classification"</c> when
    /// given, or tab-separated text (the classification as <c>label=p</c> pairs in a fourth column).</summary>
    internal static void Emit(bool json, string input, string modality, ModelPack pack, float[] embedding, IReadOnlyDictionary<string, double>? classification = null)
    {
        if (json)
        {
            if (classification is null) CliOutput.Line(new { input, modality, pack = pack.Name, dim = embedding.Length, embedding });
            else CliOutput.Line(new { input, modality, pack = pack.Name, dim = embedding.Length, classification, embedding });
        }
        else
        {
            var classes = classification is null ? "" : "\t" + string.Join(" ", classification.Select(c => $"{c.Key}={c.Value:0.0000}"));
            Console.WriteLine($"{modality}\t{input}\t[{string.Join(", ", embedding.Select(v => v.ToString("0.0000")))}]{classes}");
        }
    }
}
