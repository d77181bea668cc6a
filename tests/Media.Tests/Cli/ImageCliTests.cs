using System.Numerics.Tensors;
using System.Text.Json;

namespace Media.Tests.Cli;

/// <summary>The CLI contract of <c>media hash</c> and <c>media embed --image</c>, through the real executable.</summary>
public class ImageCliTests
{
    static string Pdq(string relative) => Path.Combine(Paths.Shared, "pdq", relative);
    static string Codec(string name) => Path.Combine(Paths.RepoRoot, "tests", "Media.Tests", "Fixtures", "codecs", name);

    [Fact]
    public void Hash_json_gives_every_field_and_rejects_bad_files_without_stopping()
    {
        using var tmp = new TempDir();
        File.WriteAllBytes(tmp["truncated.jpg"], File.ReadAllBytes(Pdq("images/bridge-mods/aaa-orig.jpg"))[..5000]);
        File.WriteAllText(tmp["notes.txt"], "not an image");
        var r = CliRunner.Run("hash", "--json", Pdq("images/bridge-mods/aaa-orig.jpg"), tmp["truncated.jpg"], tmp["notes.txt"], Codec("rgb.png"));
        Assert.Equal(1, r.ExitCode);
        var lines = r.JsonLines();
        Assert.Equal(4, lines.Length);

        var photo = lines[0];
        Assert.Equal(Pdq("images/bridge-mods/aaa-orig.jpg"), photo.GetProperty("path").GetString());
        Assert.Equal("b5b0799616df52d475a3968dc7e54f1d0724c912244ffa6175bc786375dd7298", photo.GetProperty("sha256").GetString());
        Assert.Equal("jpeg", photo.GetProperty("format").GetString());
        Assert.Equal(1600, photo.GetProperty("width").GetInt32());
        Assert.Equal(1004, photo.GetProperty("height").GetInt32());
        Assert.Equal("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22", photo.GetProperty("pdq").GetString());
        Assert.Equal(100, photo.GetProperty("pdqQuality").GetInt32());

        Assert.Contains("corrupt JPEG", lines[1].GetProperty("error").GetString());
        Assert.Contains("unrecognised format", lines[2].GetProperty("error").GetString());
        Assert.False(lines[2].TryGetProperty("pdq", out _));
        Assert.Equal("png", lines[3].GetProperty("format").GetString());
    }

    [Fact]
    public void Hash_exits_0_when_every_file_hashed()
    {
        var r = CliRunner.Run("hash", "--json", Codec("rgb.jpg"), Codec("rgb-lossless.webp"));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(2, r.JsonLines().Length);
    }

    [Fact]
    public void Embed_image_json_is_unit_norm_and_near_its_colour_word()
    {
        var r = CliRunner.Run("embed", "--pack", Paths.ColorClip, "--json", "--image", Codec("alpha.png"), "--text", "red", "--text", "blue");
        Assert.Equal(0, r.ExitCode);
        var lines = r.JsonLines();
        float[] Vec(JsonElement e) => e.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var image = lines.Single(l => l.GetProperty("modality").GetString() == "image");
        Assert.Equal(Codec("alpha.png"), image.GetProperty("input").GetString());
        Assert.Equal(16, image.GetProperty("dim").GetInt32());
        Assert.Equal(1f, TensorPrimitives.Norm(Vec(image)), 4);
        // Half red, half white (transparent): nearer "red" than "blue".
        Assert.True(TensorPrimitives.Dot(Vec(image), Vec(lines[0])) > TensorPrimitives.Dot(Vec(image), Vec(lines[1])) + 0.3f);
    }

    [Fact]
    public void Embed_image_reports_a_rejected_file_in_order_and_exits_1()
    {
        var r = CliRunner.Run("embed", "--pack", Paths.ColorClip, "--json", "--image", "/nonexistent.png", "--image", Codec("rgb.gif"));
        Assert.Equal(1, r.ExitCode);
        var lines = r.JsonLines();
        Assert.Equal("no such file", lines[0].GetProperty("error").GetString());
        Assert.Equal(16, lines[1].GetProperty("dim").GetInt32());
    }

    [Fact]
    public void Embed_streams_many_images_in_input_order_with_the_vectors_each_gets_alone()
    {
        var photos = Directory.GetFiles(Path.Combine(Paths.Shared, "pdq", "images", "labelme-subset")).Order(StringComparer.Ordinal).ToArray();
        var together = CliRunner.Run(["embed", "--pack", Paths.ColorClip, "--json", .. photos.SelectMany(p => new[] { "--image", p })]);
        Assert.Equal(0, together.ExitCode);
        var lines = together.JsonLines();
        Assert.Equal(photos, lines.Select(l => l.GetProperty("input").GetString()));
        foreach (var i in new[] { 0, photos.Length / 2, photos.Length - 1 })
        {
            var alone = CliRunner.Run("embed", "--pack", Paths.ColorClip, "--json", "--image", photos[i]).JsonLines().Single();
            var a = alone.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            var b = lines[i].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            Assert.True(TensorPrimitives.Dot(a, b) > 0.99999f, $"{photos[i]}: batched and alone differ");
        }
    }
}
