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

/// <summary>Image tower: <c>pixel_values float32 [B,3,S,S]</c> → <c>image_embeds float32 [B,D]</c>.</summary>
public sealed record ImageModality
{
    public required PackFile Model { get; init; }
    /// <summary>Input tensor name (Hugging Face exports: <c>pixel_values</c>).</summary>
    public string Input { get; init; } = "pixel_values";
    /// <summary>Output tensor name (Hugging Face exports: <c>image_embeds</c>).</summary>
    public string Output { get; init; } = "image_embeds";
    public required ImagePreprocessing Preprocess { get; init; }
}

/// <summary>
/// CLIP image preprocessing as in Hugging Face <c>CLIPImageProcessor</c>: resize the shortest side to
/// <see cref="Size"/> (bicubic, antialiased as Pillow), center crop <see cref="CropSize"/>², rescale to
/// [0,1], normalise by <see cref="Mean"/>/<see cref="Std"/> per RGB channel.
/// </summary>
public sealed record ImagePreprocessing
{
    /// <summary>Target of the shortest side, pixels (CLIP: 224).</summary>
    public int Size { get; init; } = 224;
    /// <summary>Center-crop edge, pixels (CLIP: 224).</summary>
    public int CropSize { get; init; } = 224;
    /// <summary><c>shortest_edge</c> (only mode supported).</summary>
    public string Resize { get; init; } = "shortest_edge";
    /// <summary><c>bicubic</c> or <c>bilinear</c>, Pillow semantics.</summary>
    public string Resample { get; init; } = "bicubic";
    public float[] Mean { get; init; } = [0.48145466f, 0.4578275f, 0.40821073f];
    public float[] Std { get; init; } = [0.26862954f, 0.26130258f, 0.27577711f];
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
    /// <summary><c>clip-bpe</c> (only type supported).</summary>
    public string Type { get; init; } = "clip-bpe";
    public required PackFile Vocab { get; init; }
    public required PackFile Merges { get; init; }
    /// <summary>Maximum tokens, start and end included (CLIP: 77).</summary>
    public int ContextLength { get; init; } = 77;
    /// <summary>Padding id (Hugging Face CLIP: 49407, the end token; OpenAI: 0).</summary>
    public int PadId { get; init; } = 49407;
    /// <summary>Pad every batch to the context length (some exports have a fixed sequence length).</summary>
    public bool PadToContextLength { get; init; }
}
