using System.Collections.Concurrent;
using System.Text;

namespace Media.Embeddings.Tokenization;

/// <summary>A tokenizer of a text tower: texts → padded int64 ids <c>[B, T]</c> and attention mask.</summary>
public interface ITextTokenizer
{
    /// <summary>Maximum ids per text, special tokens included.</summary>
    int ContextLength { get; }

    /// <summary>Tokenizes a batch, padded with <paramref name="padId"/> to the longest text (or the context length).</summary>
    (long[] Ids, long[] AttentionMask, int SequenceLength) EncodeBatch(IReadOnlyList<string> texts, int padId, bool padToContextLength = false);

    /// <summary>Lays out id rows as a padded row-major matrix and its mask (1 for tokens, 0 for padding).</summary>
    internal static (long[] Ids, long[] AttentionMask, int SequenceLength) Pad(int[][] rows, int padId, int minLength)
    {
        var seq = Math.Max(minLength, rows.Length == 0 ? 0 : rows.Max(r => r.Length));
        var ids = new long[rows.Length * seq];
        var mask = new long[rows.Length * seq];
        Array.Fill(ids, padId);
        for (var i = 0; i < rows.Length; i++)
            for (var j = 0; j < rows[i].Length; j++) { ids[i * seq + j] = rows[i][j]; mask[i * seq + j] = 1; }
        return (ids, mask, seq);
    }
}

/// <summary>
/// Byte-level BPE (Sennrich et al. 2016 on GPT-2's byte-to-unicode alphabet, Radford et al. 2019): a pre-token's
/// UTF-8 bytes map to printable symbols, the lowest-ranked adjacent pair is merged until none applies, and the
/// symbols are looked up in the vocabulary. CLIP marks the last symbol with <c>&lt;/w&gt;</c>; GPT-2/RoBERTa do not
/// (they carry the preceding space as <c>Ġ</c> instead). Results are cached per pre-token. Thread-safe.
/// </summary>
public sealed class ByteLevelBpe
{
    static readonly char[] ByteToUnicode = BuildByteToUnicode();
    readonly IReadOnlyDictionary<string, int> _vocab;
    readonly Dictionary<(string, string), int> _ranks = [];
    readonly string _endOfWord;
    readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    public ByteLevelBpe(IReadOnlyDictionary<string, int> vocab, IEnumerable<(string Left, string Right)> merges, string endOfWord)
    {
        _vocab = vocab;
        _endOfWord = endOfWord;
        var rank = 0;
        foreach (var pair in merges) _ranks.TryAdd(pair, rank++);
    }

    /// <summary>The ids of one pre-token.</summary>
    /// <exception cref="KeyNotFoundException">A symbol is missing from the vocabulary.</exception>
    public int[] Encode(string token) => _cache.GetOrAdd(token, Bpe);

    /// <summary>The byte-to-unicode form of a string (GPT-2's <c>bytes_to_unicode</c>).</summary>
    public static string Symbols(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) chars[i] = ByteToUnicode[bytes[i]];
        return new string(chars);
    }

    int[] Bpe(string token)
    {
        var symbols = Symbols(token);
        if (symbols.Length == 0) return [];
        var word = symbols.Select(c => c.ToString()).ToList();
        word[^1] += _endOfWord;
        while (word.Count > 1)
        {
            var bestRank = int.MaxValue;
            (string, string) best = default;
            for (var i = 0; i < word.Count - 1; i++)
                if (_ranks.TryGetValue((word[i], word[i + 1]), out var r) && r < bestRank) { bestRank = r; best = (word[i], word[i + 1]); }
            if (bestRank == int.MaxValue) break;
            var merged = new List<string>(word.Count);
            for (var i = 0; i < word.Count; i++)
            {
                if (i < word.Count - 1 && word[i] == best.Item1 && word[i + 1] == best.Item2) { merged.Add(best.Item1 + best.Item2); i++; }
                else merged.Add(word[i]);
            }
            word = merged;
        }
        var ids = new int[word.Count];
        for (var i = 0; i < word.Count; i++)
            ids[i] = _vocab.TryGetValue(word[i], out var id) ? id : throw new KeyNotFoundException($"BPE symbol '{word[i]}' of '{token}' is not in the vocabulary");
        return ids;
    }

    // Printable bytes map to themselves, the rest to code points from 256 up.
    static char[] BuildByteToUnicode()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
            map[b] = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF ? (char)b : (char)next++;
        return map;
    }
}
