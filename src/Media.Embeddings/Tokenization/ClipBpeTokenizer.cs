using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Media.Embeddings.Tokenization;

/// <summary>The token ids of one text: start and end tokens included, no padding.</summary>
/// <param name="Ids">Token ids, <c>[startOfText, ..., endOfText]</c>, at most the context length.</param>
/// <param name="Truncated">True when the text did not fit and was cut (the end token is kept).</param>
public readonly record struct TokenizedText(int[] Ids, bool Truncated);

/// <summary>
/// CLIP's byte-level BPE tokenizer, the algorithm of OpenAI's reference
/// <c>clip/simple_tokenizer.py</c> (Radford et al., 2021) as also implemented by Hugging Face's
/// <c>CLIPTokenizer</c>: HTML unescape (twice), whitespace collapse, lower case, CLIP's
/// pre-tokenisation pattern, GPT-2 byte-to-unicode mapping, BPE with the <c>&lt;/w&gt;</c>
/// end-of-word marker, then <c>&lt;|startoftext|&gt;</c> and <c>&lt;|endoftext|&gt;</c>.
/// Reads the Hugging Face files <c>vocab.json</c> and <c>merges.txt</c>.
/// Thread-safe; BPE results are cached per pre-token. <c>ftfy.fix_text</c> is not applied
/// (it only repairs mojibake; clean UTF-8 input is unaffected).
/// </summary>
public sealed class ClipBpeTokenizer : ITextTokenizer
{
    /// <summary>CLIP's context length: 77 tokens including start and end.</summary>
    public const int DefaultContextLength = 77;
    const string StartToken = "<|startoftext|>";
    const string EndToken = "<|endoftext|>";
    const string EndOfWord = "</w>";

    // The pattern of simple_tokenizer.py, applied after lower-casing.
    static readonly Regex PreTokenizer = new(
        @"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+",
        RegexOptions.Compiled | RegexOptions.CultureInvariant);
    static readonly Regex Whitespace = new(@"\s+", RegexOptions.Compiled);

    readonly Dictionary<string, int> _encoder;
    readonly ByteLevelBpe _bpe;

    /// <summary>Id of <c>&lt;|startoftext|&gt;</c> (49406 in CLIP's vocabulary).</summary>
    public int StartOfTextId { get; }
    /// <summary>Id of <c>&lt;|endoftext|&gt;</c> (49407 in CLIP's vocabulary).</summary>
    public int EndOfTextId { get; }
    /// <summary>Maximum ids per text, start and end tokens included.</summary>
    public int ContextLength { get; }
    /// <summary>Number of entries in the vocabulary.</summary>
    public int VocabularySize => _encoder.Count;

    /// <summary>Builds a tokenizer from a vocabulary and a ranked merge list.</summary>
    /// <exception cref="FormatException">The vocabulary lacks the special tokens or a merge result.</exception>
    public ClipBpeTokenizer(IReadOnlyDictionary<string, int> vocabulary, IEnumerable<(string Left, string Right)> merges,
        int contextLength = DefaultContextLength)
    {
        if (contextLength < 2) throw new ArgumentOutOfRangeException(nameof(contextLength), "context length must hold the start and end tokens");
        _encoder = new Dictionary<string, int>(vocabulary, StringComparer.Ordinal);
        _bpe = new ByteLevelBpe(_encoder, merges, EndOfWord);
        StartOfTextId = _encoder.TryGetValue(StartToken, out var s) ? s : throw new FormatException($"vocabulary has no {StartToken}");
        EndOfTextId = _encoder.TryGetValue(EndToken, out var e) ? e : throw new FormatException($"vocabulary has no {EndToken}");
        ContextLength = contextLength;
    }

    /// <summary>Loads Hugging Face <c>vocab.json</c> (token → id) and <c>merges.txt</c> (one "left right" pair a line, an optional <c>#version</c> header).</summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="FormatException">A file is malformed.</exception>
    public static ClipBpeTokenizer FromFiles(string vocabPath, string mergesPath, int contextLength = DefaultContextLength)
    {
        Dictionary<string, int> vocab;
        try
        {
            using var stream = File.OpenRead(vocabPath);
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(stream)
                    ?? throw new FormatException($"{vocabPath}: empty vocabulary");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{vocabPath}: not a JSON object of token → id ({ex.Message})", ex);
        }
        var merges = new List<(string, string)>();
        var lineNo = 0;
        foreach (var line in File.ReadLines(mergesPath))
        {
            lineNo++;
            if (line.Length == 0 || (lineNo == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            var space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                throw new FormatException($"{mergesPath}:{lineNo}: expected two symbols separated by one space");
            merges.Add((line[..space], line[(space + 1)..]));
        }
        return new ClipBpeTokenizer(vocab, merges, contextLength);
    }

    /// <summary>Tokenizes one text into at most <see cref="ContextLength"/> ids, start and end included, no padding.</summary>
    /// <exception cref="KeyNotFoundException">A BPE symbol is missing from the vocabulary (a vocabulary that does not match its merges).</exception>
    public TokenizedText Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(16) { StartOfTextId };
        var limit = ContextLength - 1;
        var truncated = false;
        foreach (Match m in PreTokenizer.Matches(Normalize(text)))
        {
            foreach (var id in EncodeWord(m.Value))
            {
                if (ids.Count == limit) { truncated = true; break; }
                ids.Add(id);
            }
            if (truncated) break;
        }
        ids.Add(EndOfTextId);
        return new TokenizedText(ids.ToArray(), truncated);
    }

    /// <summary>
    /// Tokenizes a batch into a padded row-major matrix <c>[texts.Count, sequenceLength]</c> of int64 ids
    /// and the matching attention mask (1 for tokens, 0 for padding). The sequence length is the longest
    /// text in the batch, or <see cref="ContextLength"/> when <paramref name="padToContextLength"/>.
    /// </summary>
    public (long[] Ids, long[] AttentionMask, int SequenceLength) EncodeBatch(IReadOnlyList<string> texts, int padId, bool padToContextLength = false) =>
        ITextTokenizer.Pad(texts.Select(t => Encode(t).Ids).ToArray(), padId, padToContextLength ? ContextLength : 0);

    static string Normalize(string text)
    {
        // basic_clean: html.unescape(html.unescape(text)).strip(); whitespace_clean; lower().
        var unescaped = WebUtility.HtmlDecode(WebUtility.HtmlDecode(text));
        return Whitespace.Replace(unescaped, " ").Trim().ToLowerInvariant();
    }

    int[] EncodeWord(string token) => _bpe.Encode(token);
}
