using System.CommandLine;
using Media.Contracts.V1;
using Media.Embeddings.Pipeline;
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
                try
                {
                    // Only the towers this call uses open: an image-only run never pays for the text session.
                    loaded.LoadTowers(image: images.Length > 0, text: texts.Length > 0, audio: false);
                }
                catch
                {
                    loaded.Dispose();
                    throw;
                }
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
                    if (!loaded.HasText)
                    {
                        CliOutput.Error(ModelPack.NoTextTower(loaded.Name));
                        return 2;
                    }
                    var vectors = loaded.Text!.Encode(texts);
                    for (var i = 0; i < texts.Length; i++) Emit(asJson, texts[i], "text", loaded, vectors[i]);
                }
                if (images.Length > 0)
                {
                    if (!loaded.HasImage)
                    {
                        CliOutput.Error($"pack '{loaded.Name}' has no image tower");
                        return 2;
                    }
                    return EmbedImagesAsync(loaded, images, asJson).GetAwaiter().GetResult();
                }
            }
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Embeds the images through the ingest pipeline's <see cref="EncodeStage"/> (without PDQ): decoding on every core
    /// overlaps batched inference, a bounded number of files are in flight, and results are printed in input order as
    /// they come. A rejected image is reported and skipped. Exit 1 if any was rejected.
    /// </summary>
    static async Task<int> EmbedImagesAsync(ModelPack pack, string[] paths, bool json)
    {
        await using var stage = new EncodeStage([pack], _ => false, new EncodeSettings { PerceptualHashes = false });
        var rejected = 0;
        var submissions = paths.Select(p => new MediaSubmitted(Guid.NewGuid(), Guid.Empty, new MediaSource(Path: Path.GetFullPath(p)), Packs: [pack.Name]));
        var i = 0;
        await foreach (var e in stage.EncodeStreamAsync(submissions))
        {
            var path = paths[i++];
            if (e.Error is null && e.Embeddings is [var embedding])
                Emit(json, path, e.Modality, pack, embedding.Vector, embedding.Classification);
            else
            {
                rejected++;
                var error = e.Error ?? $"pack '{pack.Name}' has no tower for {e.Modality}";
                if (json) CliOutput.Line(new { input = path, modality = e.Modality, pack = pack.Name, error });
                else CliOutput.Error($"{path}: {error}");
            }
        }
        return rejected == 0 ? 0 : 1;
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
