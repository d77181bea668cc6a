using System.Security.Cryptography;
using System.Text.Json;
using Media.Domain;
using Media.Embeddings.Encoders;
using Media.Embeddings.Runtime;
using Media.Embeddings.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace Media.Embeddings.Packs;

/// <summary>
/// A loaded, validated model pack: its manifest and one encoder per modality, each backed by one
/// ONNX Runtime session that is shared by all threads of the process.
/// </summary>
public sealed class ModelPack : IDisposable
{
    public const string ManifestFileName = "pack.json";

    /// <summary>The pack folder (absolute).</summary>
    public string Directory { get; }
    public PackManifest Manifest { get; }
    public ImageEncoder? Image { get; }
    public TextEncoder? Text { get; }
    public AudioEncoder? Audio { get; }
    /// <summary>Pack name.</summary>
    public string Name => Manifest.Name;
    /// <summary>Stable key for stored embeddings: <c>name@version</c>.</summary>
    public PackKey Key => new(Manifest.Name, Manifest.Version);

    ModelPack(string directory, PackManifest manifest, ImageEncoder? image, TextEncoder? text, AudioEncoder? audio)
    {
        Directory = directory; Manifest = manifest; Image = image; Text = text; Audio = audio;
    }

    /// <summary>
    /// Loads the pack in <paramref name="directory"/>: reads <c>pack.json</c>, checks every file's SHA-256,
    /// opens the ONNX sessions and checks tensor names, element types and shapes against the session metadata.
    /// </summary>
    /// <exception cref="ModelPackException">Anything is missing or mismatched; the message names the pack file and the mismatch.</exception>
    /// <exception cref="ExecutionProviderException">The requested device cannot engage.</exception>
    public static ModelPack Load(string directory, OnnxSessionFactory sessions)
    {
        directory = Path.GetFullPath(directory);
        var manifest = ReadManifest(directory);
        var where = Path.Combine(directory, ManifestFileName);
        VerifyFiles(directory, manifest);

        ImageEncoder? image = null;
        TextEncoder? text = null;
        AudioEncoder? audio = null;
        try
        {
            if (manifest.Image is { } im)
            {
                var session = OpenSession(sessions, directory, im.Model, where, "image");
                image = ImageEncoder.Create(session, im, manifest.Dimension, where);
            }
            if (manifest.Text is { } tx)
            {
                var tok = tx.Tokenizer;
                ITextTokenizer tokenizer;
                try
                {
                    tokenizer = tok.Type.ToLowerInvariant() switch
                    {
                        "clip-bpe" => ClipBpeTokenizer.FromFiles(Path.Combine(directory, tok.Vocab.File),
                            Path.Combine(directory, (tok.Merges ?? throw new ModelPackException($"{where}: text.tokenizer.merges is required for clip-bpe")).File), tok.ContextLength),
                        "roberta-bpe" => RobertaBpeTokenizer.FromTokenizerJson(Path.Combine(directory, tok.Vocab.File), tok.ContextLength),
                        _ => throw new ModelPackException($"{where}: text.tokenizer.type '{tok.Type}' is not supported (clip-bpe, roberta-bpe)"),
                    };
                }
                catch (Exception ex) when (ex is FormatException or IOException)
                {
                    throw new ModelPackException($"{where}: text.tokenizer: {ex.Message}", ex);
                }
                var session = OpenSession(sessions, directory, tx.Model, where, "text");
                text = TextEncoder.Create(session, tx, tokenizer, manifest.Dimension, where);
            }
            if (manifest.Audio is { } au)
            {
                var session = OpenSession(sessions, directory, au.Model, where, "audio");
                audio = AudioEncoder.Create(session, au, manifest.Dimension, where);
            }
        }
        catch
        {
            image?.Dispose();
            text?.Dispose();
            audio?.Dispose();
            throw;
        }
        return new ModelPack(directory, manifest, image, text, audio);
    }

    /// <summary>Reads and structurally validates <c>pack.json</c> without touching the model files.</summary>
    /// <exception cref="ModelPackException">Missing, unparsable or incomplete manifest.</exception>
    public static PackManifest ReadManifest(string directory)
    {
        var path = Path.Combine(Path.GetFullPath(directory), ManifestFileName);
        if (!File.Exists(path)) throw new ModelPackException($"{path}: no such file (a model pack is a folder with a pack.json)");
        PackManifest? manifest;
        try
        {
            using var stream = File.OpenRead(path);
            manifest = JsonSerializer.Deserialize<PackManifest>(stream, PackManifest.Json);
        }
        catch (JsonException ex)
        {
            throw new ModelPackException($"{path}: invalid pack.json: {ex.Message}", ex);
        }
        if (manifest is null) throw new ModelPackException($"{path}: empty pack.json");
        if (manifest.Dimension <= 0) throw new ModelPackException($"{path}: dimension must be positive, got {manifest.Dimension}");
        if (manifest.Image is null && manifest.Text is null && manifest.Audio is null) throw new ModelPackException($"{path}: the pack has no modality (image, text or audio)");
        if (manifest.Audio?.Preprocess is { } ap && (ap.SampleRate <= 0 || ap.Hop <= 0 || ap.MelBins <= 0 || ap.ClipSeconds <= 0 || ap.NFft <= 0 || (ap.NFft & (ap.NFft - 1)) != 0))
            throw new ModelPackException($"{path}: audio.preprocess needs positive sampleRate, hop, melBins, clipSeconds and a power-of-two nFft");
        if (manifest.Image is { } im)
        {
            var p = im.Preprocess;
            if (p.Mean.Length != 3 || p.Std.Length != 3 || p.Std.Any(s => s <= 0))
                throw new ModelPackException($"{path}: image.preprocess mean and std need 3 values each, std positive");
            if (p.Size <= 0 || p.CropSize <= 0 || p.CropSize > p.Size)
                throw new ModelPackException($"{path}: image.preprocess needs 0 < cropSize <= size, got size {p.Size}, cropSize {p.CropSize}");
            if (p.Resize is not (ImagePreprocessing.ResizeShortestEdge or ImagePreprocessing.ResizeStretch))
                throw new ModelPackException($"{path}: image.preprocess.resize '{p.Resize}' is not supported (shortest_edge, stretch)");
            if (p.Resize == ImagePreprocessing.ResizeStretch && p.CropSize != p.Size)
                throw new ModelPackException($"{path}: image.preprocess.resize 'stretch' does not crop, so cropSize must equal size, got size {p.Size}, cropSize {p.CropSize}");
            if (p.Resample is not (ImagePreprocessing.ResampleBicubic or ImagePreprocessing.ResampleBilinear or ImagePreprocessing.ResampleBilinearAlignCorners))
                throw new ModelPackException($"{path}: image.preprocess.resample '{p.Resample}' is not supported (bicubic, bilinear, bilinear-align-corners)");
            if (im.Classifier is { } head)
            {
                if (string.IsNullOrWhiteSpace(head.Output)) throw new ModelPackException($"{path}: image.classifier.output is empty");
                if (head.Output == im.Output) throw new ModelPackException($"{path}: image.classifier.output '{head.Output}' is the embedding output too");
                if (head.Labels is not { Length: > 0 }) throw new ModelPackException($"{path}: image.classifier.labels is empty");
                if (head.Labels.FirstOrDefault(string.IsNullOrWhiteSpace) is not null) throw new ModelPackException($"{path}: image.classifier.labels has an empty label");
                if (head.Labels.GroupBy(l => l, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } twice)
                    throw new ModelPackException($"{path}: image.classifier.labels names '{twice.Key}' twice (labels are matched without regard to case)");
            }
        }
        return manifest;
    }

    /// <summary>The error for a text query or prompt given to a pack without a text tower (e.g. an image classifier pack).</summary>
    public static string NoTextTower(string pack) => $"pack {pack} has no text tower; it cannot embed text";

    /// <summary>All files a manifest names, with the JSON path that names each.</summary>
    public static IEnumerable<(string Field, PackFile File)> Files(PackManifest m)
    {
        if (m.Image is { } im) yield return ("image.model", im.Model);
        if (m.Text is { } tx)
        {
            yield return ("text.model", tx.Model);
            yield return ("text.tokenizer.vocab", tx.Tokenizer.Vocab);
            if (tx.Tokenizer.Merges is { } merges) yield return ("text.tokenizer.merges", merges);
        }
        if (m.Audio is { } au) yield return ("audio.model", au.Model);
    }

    static void VerifyFiles(string directory, PackManifest manifest)
    {
        var where = Path.Combine(directory, ManifestFileName);
        foreach (var (field, file) in Files(manifest))
        {
            var path = Path.Combine(directory, file.File);
            if (!File.Exists(path))
                throw new ModelPackException($"{where}: {field} '{file.File}' is missing" + (file.Url is null ? "" : " (run `make models` to download it)"));
            var actual = Sha256OfFile(path);
            if (!string.Equals(actual, file.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new ModelPackException($"{where}: {field} '{file.File}' fails its SHA-256 check: pack.json pins {file.Sha256}, the file has {actual}");
        }
    }

    /// <summary>SHA-256 of a file as 64 lower-case hex digits.</summary>
    public static string Sha256OfFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    static EngagedSession OpenSession(OnnxSessionFactory sessions, string directory, PackFile model, string where, string modality)
    {
        try
        {
            return sessions.Create(Path.Combine(directory, model.File));
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelPackException($"{where}: {modality}.model '{model.File}' is not a loadable ONNX model: {ex.Message}", ex);
        }
    }

    public void Dispose()
    {
        Image?.Dispose();
        Text?.Dispose();
        Audio?.Dispose();
    }
}
