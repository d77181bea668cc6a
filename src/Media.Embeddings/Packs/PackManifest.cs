using System.Text.Json;
using System.Text.Json.Serialization;

namespace Media.Embeddings.Packs;

/// <summary>
/// The <c>pack.json</c> of a model pack: one embedding space served by one ONNX encoder per modality.
/// See README "Model packs" for the format. Paths are relative to the pack folder.
/// </summary>
public sealed record PackManifest
{
    /// <summary>Pack name, e.g. <c>clip-vit-b32</c>.</summary>
    public required string Name { get; init; }
    /// <summary>Pack version; embeddings are stored per (name, version).</summary>
    public required string Version { get; init; }
    /// <summary>Embedding space id: packs with the same id produce comparable embeddings.</summary>
    public required string Space { get; init; }
    /// <summary>Embedding dimension D; every encoder outputs <c>[batch, D]</c>.</summary>
    public required int Dimension { get; init; }
    /// <summary>True for real pretrained models whose distances mean something semantically.</summary>
    public required bool Semantic { get; init; }
    /// <summary>Free text.</summary>
    public string? Description { get; init; }
    /// <summary>Image tower, or null.</summary>
    public ImageModality? Image { get; init; }
    /// <summary>Text tower, or null.</summary>
    public TextModality? Text { get; init; }
    /// <summary>Audio tower (CLAP-style), or null.</summary>
    public AudioModality? Audio { get; init; }

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };
}

/// <summary>A file of a pack with its pinned SHA-256 (lower-case hex) and optional source URL and size in bytes.</summary>
public sealed record PackFile
{
    /// <summary>Path relative to the pack folder.</summary>
    public required string File { get; init; }
    /// <summary>SHA-256 of the file bytes, 64 hex digits.</summary>
    public required string Sha256 { get; init; }
    /// <summary>Where <c>make models</c> downloads it from; null for files generated in the repository.</summary>
    public string? Url { get; init; }
    /// <summary>Size in bytes, when known.</summary>
    public long? Size { get; init; }
}

/// <summary>
/// Image tower: <c>pixel_values float32 [B,3,S,S]</c> → <c>image_embeds float32 [B,D]</c>, and optionally, from the same
/// run, class probabilities <c>float32 [B,L]</c> (<see cref="Classifier"/>).
/// </summary>
public sealed record ImageModality
{
    public required PackFile Model { get; init; }
    /// <summary>Input tensor name (Hugging Face exports: <c>pixel_values</c>).</summary>
    public string Input { get; init; } = "pixel_values";
    /// <summary>Output tensor name (Hugging Face exports: <c>image_embeds</c>).</summary>
    public string Output { get; init; } = "image_embeds";
    /// <summary>A classifier head beside the embedding output, or null.</summary>
    public ClassifierHead? Classifier { get; init; }
    public required ImagePreprocessing Preprocess { get; init; }
}

/// <summary>
/// A classifier head of an image tower: the graph output <see cref="Output"/> is <c>float32 [B, Labels.Length]</c>,
/// column <c>i</c> the probability of <c>Labels[i]</c> (the graph applies its own softmax or sigmoid; the values are
/// used as they come, not renormalised).
/// </summary>
public sealed record ClassifierHead
{
    /// <summary>Output tensor name, e.g. <c>probs</c>.</summary>
    public string Output { get; init; } = "probs";
    /// <summary>Class labels in output-column order, unique, e.g. nsfwjs's <c>Drawing, Hentai, Neutral, Porn, Sexy</c>.</summary>
    public string[] Labels { get; init; } = [];
}

/// <summary>
/// Image preprocessing declared by a pack: resize (<see cref="Resize"/>, <see cref="Resample"/>), crop, rescale to
/// [0,1], then <c>(x − mean)/std</c> per RGB channel; NCHW float32 <c>[3, CropSize, CropSize]</c>. The defaults are CLIP's
/// (Hugging Face <c>CLIPImageProcessor</c>: shortest side to 224 with Pillow's antialiased bicubic, centre crop 224).
/// </summary>
public sealed record ImagePreprocessing
{
    /// <summary><see cref="Resize"/> value: shortest side to <see cref="Size"/> keeping the aspect ratio, then a centre crop of <see cref="CropSize"/>².</summary>
    public const string ResizeShortestEdge = "shortest_edge";
    /// <summary><see cref="Resize"/> value: both sides to <see cref="Size"/>, ignoring the aspect ratio, no crop (<see cref="CropSize"/> must equal <see cref="Size"/>).</summary>
    public const string ResizeStretch = "stretch";
    /// <summary><see cref="Resample"/> value: Pillow's antialiased bicubic (Keys a = −0.5, 8-bit between passes).</summary>
    public const string ResampleBicubic = "bicubic";
    /// <summary><see cref="Resample"/> value: Pillow's antialiased bilinear (triangle filter, 8-bit between passes).</summary>
    public const string ResampleBilinear = "bilinear";
    /// <summary><see cref="Resample"/> value: TensorFlow.js <c>tf.image.resizeBilinear(x, size, alignCorners = true)</c> on
    /// float32 <c>byte/255</c> values: 4-tap bilinear interpolation, source coordinate <c>dst·(in−1)/(out−1)</c>, no
    /// antialiasing, as nsfwjs feeds its models. Needs the full-resolution decode (see <see cref="NeedsFullResolution"/>).</summary>
    public const string ResampleBilinearAlignCorners = "bilinear-align-corners";

    /// <summary>Target size, pixels: the shortest side (<c>shortest_edge</c>) or both sides (<c>stretch</c>) (CLIP: 224).</summary>
    public int Size { get; init; } = 224;
    /// <summary>Center-crop edge, pixels; the model's input edge S (CLIP: 224).</summary>
    public int CropSize { get; init; } = 224;
    /// <summary><c>shortest_edge</c> (then a centre crop) or <c>stretch</c> (no crop).</summary>
    public string Resize { get; init; } = ResizeShortestEdge;
    /// <summary><c>bicubic</c> or <c>bilinear</c> (Pillow semantics), or <c>bilinear-align-corners</c> (TensorFlow.js semantics).</summary>
    public string Resample { get; init; } = ResampleBicubic;
    /// <summary>Per-channel mean subtracted after rescaling to [0,1] (RGB).</summary>
    public float[] Mean { get; init; } = [0.48145466f, 0.4578275f, 0.40821073f];
    /// <summary>Per-channel divisor applied after the mean (RGB), positive.</summary>
    public float[] Std { get; init; } = [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>
    /// True when the result depends on the decode resolution beyond rounding: a resampler without antialiasing reads a
    /// few source pixels per output pixel, so a JPEG decoded at a DCT-reduced scale (which averages) gives materially
    /// different inputs than the full-resolution pixels its reference implementation sees. Such packs are fed full-resolution decodes.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool NeedsFullResolution => Resample == ResampleBilinearAlignCorners;
}

/// <summary>Audio tower: <c>input_features float32 [B,1,frames,melBins]</c> log-mel → <c>audio_embeds float32 [B,D]</c>.</summary>
public sealed record AudioModality
{
    public required PackFile Model { get; init; }
    /// <summary>Input tensor name (transformers.js CLAP export: <c>input_features</c>).</summary>
    public string Input { get; init; } = "input_features";
    /// <summary>Output tensor name (<c>audio_embeds</c>).</summary>
    public string Output { get; init; } = "audio_embeds";
    public AudioPreprocessing Preprocess { get; init; } = new();
}

/// <summary>
/// CLAP audio preprocessing, matching Hugging Face <c>ClapFeatureExtractor</c> (laion/clap-htsat-unfused:
/// 48 kHz, n_fft 1024, hop 480, 64 mel bins, 50–14000 Hz, 10 s clips, <c>repeatpad</c>).
/// </summary>
public sealed record AudioPreprocessing
{
    public int SampleRate { get; init; } = 48000;
    /// <summary>Clip length, seconds; longer audio is cut into consecutive clips (see <c>AudioEncoder</c>).</summary>
    public double ClipSeconds { get; init; } = 10;
    public int NFft { get; init; } = 1024;
    public int Hop { get; init; } = 480;
    /// <summary><c>hann</c> (periodic).</summary>
    public string Window { get; init; } = "hann";
    public int MelBins { get; init; } = 64;
    public double FMin { get; init; } = 50;
    public double FMax { get; init; } = 14000;
    /// <summary><c>slaney</c> or <c>htk</c>.</summary>
    public string MelScale { get; init; } = "slaney";
    /// <summary><c>slaney</c> (area normalisation) or null.</summary>
    public string? MelNorm { get; init; } = "slaney";
    /// <summary>10·log10(max(1e−10, power)).</summary>
    public bool PowerToDb { get; init; } = true;
    /// <summary><c>repeatpad</c>: repeat a short clip ⌊max/len⌋ times, then zero-pad; <c>pad</c>: zero-pad only.</summary>
    public string Padding { get; init; } = "repeatpad";
    /// <summary><c>windows</c>: long audio is embedded in consecutive clips whose normalised embeddings are averaged.</summary>
    public string Truncation { get; init; } = "windows";
}

/// <summary>Text tower: <c>input_ids int64 [B,T]</c> (optionally <c>attention_mask</c>) → <c>text_embeds float32 [B,D]</c>.</summary>
public sealed record TextModality
{
    public required PackFile Model { get; init; }
    /// <summary>Token-id input name (Hugging Face exports: <c>input_ids</c>).</summary>
    public string Input { get; init; } = "input_ids";
    /// <summary>Attention-mask input name, fed when the ONNX graph declares it.</summary>
    public string AttentionMask { get; init; } = "attention_mask";
    /// <summary>Output tensor name (Hugging Face exports: <c>text_embeds</c>).</summary>
    public string Output { get; init; } = "text_embeds";
    public required TokenizerSpec Tokenizer { get; init; }
}

/// <summary>Tokenizer of a text tower.</summary>
public sealed record TokenizerSpec
{
    /// <summary><c>clip-bpe</c> (CLIP's BPE: vocab + merges) or <c>roberta-bpe</c> (GPT-2/RoBERTa byte-level BPE read from a
    /// Hugging Face <c>tokenizer.json</c> in <see cref="Vocab"/>, as CLAP's text tower uses).</summary>
    public string Type { get; init; } = "clip-bpe";
    public required PackFile Vocab { get; init; }
    /// <summary>merges.txt (clip-bpe), or null for roberta-bpe (the merges are in tokenizer.json).</summary>
    public PackFile? Merges { get; init; }
    /// <summary>Maximum tokens, start and end included (CLIP: 77).</summary>
    public int ContextLength { get; init; } = 77;
    /// <summary>Padding id (Hugging Face CLIP: 49407, the end token; OpenAI: 0).</summary>
    public int PadId { get; init; } = 49407;
    /// <summary>Pad every batch to the context length (some exports have a fixed sequence length).</summary>
    public bool PadToContextLength { get; init; }
}
