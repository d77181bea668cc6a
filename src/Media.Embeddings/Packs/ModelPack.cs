using System.Security.Cryptography;
using System.Text.Json;
using Media.Domain;
using Media.Embeddings.Encoders;
using Media.Embeddings.Runtime;
using Media.Embeddings.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace Media.Embeddings.Packs;

/// <summary>
/// A model pack: its manifest, checked files and one encoder per modality (a <em>tower</em>), each backed by one ONNX
/// Runtime session that is shared by all threads of the process. Towers open lazily, on first use of
/// <see cref="Image"/>, <see cref="Text"/> or <see cref="Audio"/> (or <see cref="LoadTowers"/>): an image-only job never
/// pays for the text tower's session. This object owns the sessions it opened; <see cref="Dispose"/> releases them.
/// </summary>
public sealed class ModelPack : IDisposable
{
    public const string ManifestFileName = "pack.json";

    readonly Lazy<ImageEncoder?> _image;
    readonly Lazy<TextEncoder?> _text;
    readonly Lazy<AudioEncoder?> _audio;

    /// <summary>The pack folder (absolute).</summary>
    public string Directory { get; }
    public PackManifest Manifest { get; }
    /// <summary>The image tower, opened on first use; null when the pack has none.</summary>
    /// <exception cref="ModelPackException">Its model cannot be loaded or does not match the manifest (thrown again on every use).</exception>
    /// <exception cref="ExecutionProviderException">The requested device cannot engage.</exception>
    public ImageEncoder? Image => _image.Value;
    /// <summary>The text tower (tokenizer and model), opened on first use; null when the pack has none. Errors as <see cref="Image"/>.</summary>
    public TextEncoder? Text => _text.Value;
    /// <summary>The audio tower, opened on first use; null when the pack has none. Errors as <see cref="Image"/>.</summary>
    public AudioEncoder? Audio => _audio.Value;
    /// <summary>Whether the pack has an image tower (without opening it).</summary>
    public bool HasImage => Manifest.Image is not null;
    /// <summary>Whether the pack has a text tower (without opening it).</summary>
    public bool HasText => Manifest.Text is not null;
    /// <summary>Whether the pack has an audio tower (without opening it).</summary>
    public bool HasAudio => Manifest.Audio is not null;
    /// <summary>Pack name.</summary>
    public string Name => Manifest.Name;
    /// <summary>Stable key for stored embeddings: <c>name@version</c>.</summary>
    public PackKey Key => new(Manifest.Name, Manifest.Version);

    ModelPack(string directory, PackManifest manifest, OnnxSessionFactory sessions)
    {
        Directory = directory;
        Manifest = manifest;
        var where = Path.Combine(directory, ManifestFileName);
        _image = new(() => manifest.Image is { } im ? ImageEncoder.Create(OpenSession(sessions, directory, im.Model, where, "image"), im, manifest.Dimension, where) : null);
        _text = new(() => manifest.Text is { } tx ? OpenText(sessions, directory, manifest, tx, where) : null);
        _audio = new(() => manifest.Audio is { } au ? AudioEncoder.Create(OpenSession(sessions, directory, au.Model, where, "audio"), au, manifest.Dimension, where) : null);
    }

    /// <summary>
    /// Loads the pack in <paramref name="directory"/>: reads <c>pack.json</c> and checks every file's SHA-256 against it
    /// (through the <see cref="PackStamp"/> unless <paramref name="verify"/>). Sessions open when a tower is first used;
    /// opening one checks its tensor names, element types and shapes against the session metadata.
    /// </summary>
    /// <param name="directory">The pack's folder (holding <c>pack.json</c>).</param>
    /// <param name="sessions">Opens the towers' ONNX Runtime sessions (execution provider, threads); the pack owns what it opens.</param>
    /// <param name="verify">Hash every file even when the stamp vouches for it (<c>media packs --verify</c>).</param>
    /// <exception cref="ModelPackException">Anything is missing or mismatched; the message names the pack file and the mismatch.</exception>
    public static ModelPack Load(string directory, OnnxSessionFactory sessions, bool verify = false)
    {
        directory = Path.GetFullPath(directory);
        var manifest = ReadManifest(directory);
        VerifyFiles(directory, manifest, verify);
        return new ModelPack(directory, manifest, sessions);
    }

    /// <summary>Opens the towers of the given modalities now (all of them by default), so that a role fails at start rather
    /// than at its first message. Modalities the pack lacks are skipped.</summary>
    /// <exception cref="ModelPackException">A tower cannot be loaded.</exception>
    /// <exception cref="ExecutionProviderException">The requested device cannot engage.</exception>
    public void LoadTowers(bool image = true, bool text = true, bool audio = true)
    {
        if (image) _ = Image;
        if (text) _ = Text;
        if (audio) _ = Audio;
    }

    static TextEncoder OpenText(OnnxSessionFactory sessions, string directory, PackManifest manifest, TextModality tx, string where)
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
        return TextEncoder.Create(OpenSession(sessions, directory, tx.Model, where, "text"), tx, tokenizer, manifest.Dimension, where);
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

    static void VerifyFiles(string directory, PackManifest manifest, bool verify)
    {
        var where = Path.Combine(directory, ManifestFileName);
        var stamp = PackStamp.Open(directory);
        foreach (var (field, file) in Files(manifest))
        {
            var path = Path.Combine(directory, file.File);
            if (!File.Exists(path))
                throw new ModelPackException($"{where}: {field} '{file.File}' is missing" + (file.Url is null ? "" : " (run `make models` to download it)"));
            var actual = (verify ? null : stamp.Lookup(path)) ?? stamp.Record(path, Sha256OfFile(path));
            if (!string.Equals(actual, file.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new ModelPackException($"{where}: {field} '{file.File}' fails its SHA-256 check: pack.json pins {file.Sha256}, the file has {actual}");
        }
        stamp.Save();
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
        if (_image.IsValueCreated) _image.Value?.Dispose();
        if (_text.IsValueCreated) _text.Value?.Dispose();
        if (_audio.IsValueCreated) _audio.Value?.Dispose();
    }
}
