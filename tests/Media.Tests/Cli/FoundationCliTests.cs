using System.Numerics.Tensors;
using System.Text.Json;

namespace Media.Tests.Cli;

/// <summary>The CLI contract of the foundation commands, through the real executable.</summary>
public class FoundationCliTests
{
    static readonly string Vocab = Path.Combine(Paths.Shared, "clip", "vocab.json");
    static readonly string Merges = Path.Combine(Paths.Shared, "clip", "merges.txt");

    [Fact]
    public void Tokenize_json_prints_one_line_per_text_with_start_and_end_tokens()
    {
        var r = CliRunner.Run("tokenize", "--vocab", Vocab, "--merges", Merges, "--json", "a photo of a cat", "hello world");
        Assert.Equal(0, r.ExitCode);
        var lines = r.JsonLines();
        Assert.Equal(2, lines.Length);
        Assert.Equal("a photo of a cat", lines[0].GetProperty("text").GetString());
        Assert.Equal([49406, 320, 1125, 539, 320, 2368, 49407], lines[0].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([49406, 3306, 1002, 49407], lines[1].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void Tokenize_with_a_missing_vocab_fails_with_a_message()
    {
        var r = CliRunner.Run("tokenize", "--vocab", "/nonexistent/vocab.json", "--merges", Merges, "x");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("vocab.json", r.Stderr);
    }

    [Fact]
    public void Embed_text_json_prints_a_unit_norm_vector()
    {
        var r = CliRunner.Run("embed", "--pack", Paths.ColorClip, "--text", "red", "--json", "--device", "auto");
        Assert.Equal(0, r.ExitCode);
        var line = Assert.Single(r.JsonLines());
        Assert.Equal("red", line.GetProperty("input").GetString());
        Assert.Equal("text", line.GetProperty("modality").GetString());
        Assert.Equal("color-clip", line.GetProperty("pack").GetString());
        Assert.Equal(16, line.GetProperty("dim").GetInt32());
        var v = line.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(16, v.Length);
        Assert.Equal(1f, TensorPrimitives.Norm(v), 4);
    }

    [Fact]
    public void Embed_with_cuda_on_a_host_without_it_fails_clearly()
    {
        var r = CliRunner.Run("embed", "--pack", Paths.ColorClip, "--text", "red", "--device", "cuda");
        if (Media.Embeddings.Runtime.CudaProbe.Probe(0).Usable) { Assert.Equal(0, r.ExitCode); return; }
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("the CUDA execution provider cannot engage", r.Stderr);
    }

    [Fact]
    public void Packs_reports_ok_and_an_altered_pack_with_a_reason()
    {
        using var tmp = new TempDir();
        tmp.CopyFolder(Paths.ColorClip, "good");
        var bad = tmp.CopyFolder(Paths.ColorClip, "bad");
        using (var f = File.OpenWrite(Path.Combine(bad, "text_model.onnx"))) { f.Seek(100, SeekOrigin.Begin); f.WriteByte(0x42); }
        var r = CliRunner.Run("packs", "--json", tmp.Path);
        Assert.Equal(1, r.ExitCode);
        var lines = r.JsonLines().ToDictionary(l => Path.GetFileName(l.GetProperty("path").GetString()!));
        Assert.True(lines["good"].GetProperty("ok").GetBoolean());
        Assert.Equal(JsonValueKind.Null, lines["good"].GetProperty("error").ValueKind);
        Assert.False(lines["bad"].GetProperty("ok").GetBoolean());
        Assert.Equal("color-clip", lines["bad"].GetProperty("name").GetString());
        Assert.Contains("SHA-256", lines["bad"].GetProperty("error").GetString());
    }
}
