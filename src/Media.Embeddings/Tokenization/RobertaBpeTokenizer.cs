using System.Text.Json;
using System.Text.RegularExpressions;

namespace Media.Embeddings.Tokenization;

/// <summary>
/// RoBERTa's tokenizer (GPT-2 byte-level BPE; Liu et al. 2019), as CLAP's text tower uses: GPT-2's pre-tokenisation
/// pattern, byte-level BPE without an end-of-word marker, <c>&lt;s&gt;</c> … <c>&lt;/s&gt;</c>, truncation that keeps
/// <c>&lt;/s&gt;</c>. Reads a Hugging Face <c>tokenizer.json</c> (<c>model.vocab</c>, <c>model.merges</c>). Thread-safe.
/// </summary>
public sealed class RobertaBpeTokenizer : ITextTokenizer
{
    static readonly Regex PreTokenizer = new(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.Compiled | RegexOptions.CultureInvariant);
    readonly ByteLevelBpe _bpe;
    readonly int _bos, _eos;

    public int ContextLength { get; }

    RobertaBpeTokenizer(Dictionary<string, int> vocab, List<(string, string)> merges, int contextLength)
    {
        _bpe = new ByteLevelBpe(vocab, merges, "");
        _bos = vocab.TryGetValue("<s>", out var b) ? b : throw new FormatException("vocabulary has no <s>");
        _eos = vocab.TryGetValue("</s>", out var e) ? e : throw new FormatException("vocabulary has no </s>");
        ContextLength = contextLength;
    }

    /// <exception cref="FormatException">Not a BPE tokenizer.json.</exception>
    public static RobertaBpeTokenizer FromTokenizerJson(string path, int contextLength)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var model = doc.RootElement.GetProperty("model");
            var vocab = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
            var merges = new List<(string, string)>();
            foreach (var m in model.GetProperty("merges").EnumerateArray())
            {
                if (m.ValueKind == JsonValueKind.Array) merges.Add((m[0].GetString()!, m[1].GetString()!));
                else
                {
                    var parts = m.GetString()!.Split(' ', 2);
                    merges.Add((parts[0], parts[1]));
                }
            }
            return new RobertaBpeTokenizer(vocab, merges, contextLength);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            throw new FormatException($"{path}: not a Hugging Face BPE tokenizer.json ({ex.Message})", ex);
        }
    }

    public int[] Encode(string text)
    {
        var ids = new List<int> { _bos };
        foreach (Match m in PreTokenizer.Matches(text))
            foreach (var id in _bpe.Encode(m.Value))
            {
                if (ids.Count == ContextLength - 1) goto done;
                ids.Add(id);
            }
        done:
        ids.Add(_eos);
        return ids.ToArray();
    }

    public (long[] Ids, long[] AttentionMask, int SequenceLength) EncodeBatch(IReadOnlyList<string> texts, int padId, bool padToContextLength = false) =>
        ITextTokenizer.Pad(texts.Select(Encode).ToArray(), padId, padToContextLength ? ContextLength : 0);
}
