using Media.Embeddings.Tokenization;

namespace Media.Tests.Embeddings;

/// <summary>RoBERTa/GPT-2 byte-level BPE mechanics on a small hand-made tokenizer.json.</summary>
public class RobertaBpeTokenizerTests
{
    const string TokenizerJson = """
        {"model": {"type": "BPE",
          "vocab": {"<s>": 0, "<pad>": 1, "</s>": 2, "h": 3, "e": 4, "l": 5, "o": 6, "Ġ": 7, "w": 8, "r": 9, "d": 10,
                    "he": 11, "ll": 12, "hell": 13, "hello": 14, "Ġw": 15, "Ġwo": 16, "!": 17},
          "merges": ["h e", "l l", "he ll", "hell o", ["Ġ", "w"], "Ġw o"]}}
        """;

    static RobertaBpeTokenizer Load(int contextLength = 77)
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["tokenizer.json"], TokenizerJson);
        return RobertaBpeTokenizer.FromTokenizerJson(tmp["tokenizer.json"], contextLength);
    }

    [Fact]
    public void Spaces_become_G_prefixes_and_merges_apply_by_rank()
    {
        // "hello" → hello; " world" → Ġwo r l d; "!" → !
        Assert.Equal([0, 14, 16, 9, 5, 10, 17, 2], Load().Encode("hello world!"));
    }

    [Fact]
    public void Truncation_keeps_the_end_token_and_batches_pad_with_the_pad_id()
    {
        Assert.Equal([0, 14, 16, 2], Load(4).Encode("hello world"));
        var (ids, mask, seq) = Load().EncodeBatch(["hello", "hello world"], padId: 1);
        Assert.Equal(7, seq);
        Assert.Equal([0, 14, 2, 1, 1, 1, 1], ids[..7]);
        Assert.Equal([1, 1, 1, 0, 0, 0, 0], mask[..7]);
    }

    [Fact]
    public void A_file_that_is_not_a_bpe_tokenizer_is_reported()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp["t.json"], """{"model": {"type": "WordPiece"}}""");
        Assert.Contains("not a Hugging Face BPE tokenizer.json", Assert.Throws<FormatException>(() => RobertaBpeTokenizer.FromTokenizerJson(tmp["t.json"], 77)).Message);
    }
}
