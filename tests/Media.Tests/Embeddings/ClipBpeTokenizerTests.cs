using System.Text.Json;
using Media.Embeddings.Tokenization;

namespace Media.Tests.Embeddings;

public class ClipBpeTokenizerTests
{
    static readonly Lazy<ClipBpeTokenizer> Clip = new(() => ClipBpeTokenizer.FromFiles(
        Path.Combine(Paths.Shared, "clip", "vocab.json"), Path.Combine(Paths.Shared, "clip", "merges.txt")));

    public static TheoryData<string, int[]> ReferenceCases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Paths.Shared, "clip", "reference_tokens.json")));
        var data = new TheoryData<string, int[]>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
            data.Add(c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        return data;
    }

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void Reproduces_OpenAI_reference_tokenizer(string text, int[] expected)
    {
        Assert.Equal(expected, Clip.Value.Encode(text).Ids);
    }

    [Fact]
    public void Reference_file_has_cases() => Assert.True(ReferenceCases().Count() >= 10);

    [Fact]
    public void Truncation_keeps_the_end_token_at_context_length()
    {
        var text = string.Join(' ', Enumerable.Repeat("cat", 200));
        var t = Clip.Value.Encode(text);
        Assert.True(t.Truncated);
        Assert.Equal(77, t.Ids.Length);
        Assert.Equal(49406, t.Ids[0]);
        Assert.Equal(49407, t.Ids[^1]);
        Assert.All(t.Ids[1..^1], id => Assert.Equal(2368, id)); // "cat</w>"
    }

    [Fact]
    public void Html_entities_are_unescaped_and_whitespace_collapsed()
    {
        Assert.Equal(Clip.Value.Encode("rock & roll").Ids, Clip.Value.Encode("rock   &amp;amp;\n roll").Ids);
    }

    [Fact]
    public void Batch_pads_to_the_longest_text_and_masks_padding()
    {
        var (ids, mask, seq) = Clip.Value.EncodeBatch(["a photo of a cat", "dog"], padId: 49407);
        Assert.Equal(7, seq);
        Assert.Equal([49406, 320, 1125, 539, 320, 2368, 49407], ids[..7]);
        Assert.Equal([49406, 1929, 49407, 49407, 49407, 49407, 49407], ids[7..]);
        Assert.Equal([1, 1, 1, 0, 0, 0, 0], mask[7..]);
    }

    [Fact]
    public void Malformed_merges_file_is_reported_with_its_line()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["merges.txt"], "#version: 0.2\na b\nbroken\n");
        var ex = Assert.Throws<FormatException>(() => ClipBpeTokenizer.FromFiles(Path.Combine(Paths.Shared, "clip", "vocab.json"), dir["merges.txt"]));
        Assert.Contains("merges.txt:3", ex.Message);
    }
}
