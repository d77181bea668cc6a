using System.CommandLine;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;

namespace Media.Cli.Commands;

/// <summary><c>media embed --pack DIR [--device D] [--json] (--text T... | --image FILE...)</c>: one unit-norm embedding per input.</summary>
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
        var command = new Command("embed", "Embed texts or images with a model pack") { pack, device, threads, logLevel, json, text };
        command.SetAction(parse =>
        {
            var texts = parse.GetValue(text) ?? [];
            if (texts.Length == 0)
            {
                CliOutput.Error("give --text");
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
                if (loaded.Text is null)
                {
                    CliOutput.Error($"pack '{loaded.Name}' has no text tower");
                    return 2;
                }
                var vectors = loaded.Text.Encode(texts);
                for (var i = 0; i < texts.Length; i++)
                    Emit(parse.GetValue(json), texts[i], "text", loaded, vectors[i]);
            }
            return 0;
        });
        return command;
    }

    internal static void Emit(bool json, string input, string modality, ModelPack pack, float[] embedding)
    {
        if (json) CliOutput.Line(new { input, modality, pack = pack.Name, dim = embedding.Length, embedding });
        else Console.WriteLine($"{modality}\t{input}\t[{string.Join(", ", embedding.Select(v => v.ToString("0.0000")))}]");
    }
}
