using System.Text.Json;

namespace Media.Tests.Cli;

/// <summary>
/// Issue #14's "done when" for near-duplicates by the real embedding: on held-out photographs (Debian's python3-skimage
/// data, <c>make heldout</c>; the threshold was calibrated on ../shared/pdq, never on these) and their 6% centre crops
/// (94% of width and height kept), at least 9 of the 11 crops are flagged as near-duplicates of their originals by the
/// nsfw pack's embedding at its default threshold, and no original is flagged.
/// </summary>
public class NsfwNearDuplicateTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static string Nsfw => Path.Combine(Paths.RepoRoot, "models", "nsfw-mobilenet-v2");
    static string HeldOut => Path.Combine(Paths.RepoRoot, ".deps", "heldout-photos");

    [Fact]
    public void Six_percent_crops_of_held_out_photos_are_flagged_against_their_originals_and_no_original_is()
    {
        Embeddings.NsfwPipelineTests.LoadPack().Dispose(); // "run make packs" when the model is missing
        Assert.True(File.Exists(Path.Combine(HeldOut, ".complete")), $"{HeldOut} is missing: run make heldout");
        var photos = Directory.GetFiles(HeldOut).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(11, photos.Length);

        using var tmp = new TempDir();
        var originals = tmp["1-originals"];
        var crops = tmp["2-crops"];
        Directory.CreateDirectory(originals);
        Directory.CreateDirectory(crops);
        foreach (var p in photos)
        {
            File.Copy(p, Path.Combine(originals, Path.GetFileName(p)));
            Ffmpeg.Run("-i", p, "-vf", "crop=trunc(iw*0.94):trunc(ih*0.94)", Path.Combine(crops, Path.GetFileNameWithoutExtension(p) + "-crop6.png"));
        }

        var r = CliRunner.Run("ingest", "--data", tmp["data"], "--pack", Nsfw, "--json", tmp.Path);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.JsonLines().ToDictionary(l => Path.GetRelativePath(tmp.Path, l.GetProperty("path").GetString()!));
        Assert.Equal(22, lines.Count);
        string Id(string rel) => lines[rel].GetProperty("id").GetString()!;
        JsonElement[] Near(JsonElement line) => line.GetProperty("flags").EnumerateArray().Where(f => f.GetProperty("kind").GetString() == "near_duplicate").ToArray();

        foreach (var p in photos)
        {
            var rel = Path.Combine("1-originals", Path.GetFileName(p));
            Assert.Equal("indexed", lines[rel].GetProperty("status").GetString());
            Assert.True(Near(lines[rel]).Length == 0, $"original {rel} was flagged: {string.Join(", ", Near(lines[rel]))}");
        }
        var flagged = 0;
        var pdq = 0;
        foreach (var p in photos)
        {
            var crop = Near(lines[Path.Combine("2-crops", Path.GetFileNameWithoutExtension(p) + "-crop6.png")]);
            var own = Id(Path.Combine("1-originals", Path.GetFileName(p)));
            var byEmbedding = crop.Where(f => f.GetProperty("method").GetString() == "embedding:nsfw-mobilenet-v2").ToArray();
            Assert.All(byEmbedding, f =>
            {
                Assert.Equal(own, f.GetProperty("of").GetString()); // never another photo
                Assert.Equal(0.12, f.GetProperty("threshold").GetDouble());
            });
            if (byEmbedding.Length > 0) flagged++;
            if (crop.Any(f => f.GetProperty("method").GetString() == "pdq")) pdq++;
            output.WriteLine($"{Path.GetFileName(p),-22} {(byEmbedding.Length > 0 ? $"flagged at distance {byEmbedding[0].GetProperty("distance").GetDouble():0.0000}" : "not flagged")}");
        }
        output.WriteLine($"{flagged} of {photos.Length} crops flagged by the embedding; {pdq} by PDQ");
        Assert.True(flagged >= 9, $"only {flagged} of {photos.Length} crops were flagged as near-duplicates of their originals");

        // A search by a catalogued file decodes it as ingest did (full resolution for this pack), so it finds itself
        // with similarity 1 (decoded at the pack's input size instead, a photo of ../shared/pdq scored 0.947 against itself).
        var original = Path.Combine(originals, Path.GetFileName(photos[0]));
        var search = CliRunner.Run("search", "--data", tmp["data"], "--pack", Nsfw, "--image", original, "--k", "1", "--json");
        Assert.True(search.ExitCode == 0, search.Stderr);
        var top = JsonDocument.Parse(search.Stdout).RootElement.GetProperty("results")[0];
        Assert.Equal(Id(Path.Combine("1-originals", Path.GetFileName(photos[0]))), top.GetProperty("id").GetString());
        Assert.True(top.GetProperty("score").GetDouble() > 0.9999, $"the photo scored {top.GetProperty("score").GetDouble()} against itself");
    }
}
