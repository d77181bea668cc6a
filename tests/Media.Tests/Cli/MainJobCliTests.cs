using System.Text.Json;

namespace Media.Tests.Cli;

/// <summary>The main job end to end: <c>media ingest</c>, <c>search</c> and <c>stats</c> through the real executable, bus and catalog.</summary>
public class MainJobCliTests
{
    static string Pdq(string relative) => Path.Combine(Paths.Shared, "pdq", "images", relative);

    static Dictionary<string, JsonElement> ByName(CliRunner.Result r, string root) =>
        r.JsonLines().ToDictionary(l => Path.GetRelativePath(root, l.GetProperty("path").GetString()!));

    static string[] FlagsOf(JsonElement line, string kind) =>
        line.GetProperty("flags").EnumerateArray().Where(f => f.GetProperty("kind").GetString() == kind).Select(f => f.GetProperty("of").GetString()!).ToArray();

    [Fact]
    public void Ingest_flags_edited_rotated_and_mirrored_copies_of_their_original_and_rejects_bad_files()
    {
        using var tmp = new TempDir();
        var input = Path.Combine(tmp.Path, "in");
        foreach (var dir in new[] { "bridge-mods", "dih", "labelme-subset" })
        {
            Directory.CreateDirectory(Path.Combine(input, dir));
            foreach (var f in Directory.GetFiles(Pdq(dir))) File.Copy(f, Path.Combine(input, dir, Path.GetFileName(f)));
        }
        File.WriteAllBytes(Path.Combine(input, "zz-truncated.jpg"), File.ReadAllBytes(Pdq("bridge-mods/aaa-orig.jpg"))[..4000]);
        File.WriteAllText(Path.Combine(input, "zz-readme.txt"), "not media");

        var r = CliRunner.Run("ingest", "--data", tmp["data"], "--json", input);
        Assert.Equal(0, r.ExitCode);
        var lines = ByName(r, input);
        Assert.Equal(29, lines.Count);

        var original = lines["bridge-mods/aaa-orig.jpg"];
        Assert.Equal("indexed", original.GetProperty("status").GetString());
        Assert.Empty(original.GetProperty("flags").EnumerateArray());
        var originalId = original.GetProperty("id").GetString()!;
        Assert.Matches("^[0-9a-f]{64}$", originalId);
        Assert.Equal("image", original.GetProperty("modality").GetString());

        foreach (var (name, line) in lines.Where(l => l.Key != "bridge-mods/aaa-orig.jpg" && (l.Key.StartsWith("bridge-mods/") || l.Key.StartsWith("dih/"))))
        {
            if (name == "dih/bridge-1-original.jpg") // the same bytes as aaa-orig.jpg
            {
                Assert.Equal("duplicate", line.GetProperty("status").GetString());
                Assert.Equal([originalId], FlagsOf(line, "exact_duplicate"));
                continue;
            }
            Assert.Equal("indexed", line.GetProperty("status").GetString());
            var flag = Assert.Single(line.GetProperty("flags").EnumerateArray());
            Assert.Equal(("near_duplicate", "pdq", originalId), (flag.GetProperty("kind").GetString(), flag.GetProperty("method").GetString(), flag.GetProperty("of").GetString()));
            Assert.EndsWith("aaa-orig.jpg", flag.GetProperty("ofPath").GetString());
            Assert.InRange(flag.GetProperty("distance").GetDouble(), 0, 31);
            Assert.Equal(31, flag.GetProperty("threshold").GetDouble());
        }
        foreach (var (_, line) in lines.Where(l => l.Key.StartsWith("labelme-subset/")))
            Assert.Empty(line.GetProperty("flags").EnumerateArray());

        Assert.Equal("rejected", lines["zz-truncated.jpg"].GetProperty("status").GetString());
        Assert.Contains("Premature end", lines["zz-truncated.jpg"].GetProperty("error").GetString());
        Assert.Contains("unrecognised format", lines["zz-readme.txt"].GetProperty("error").GetString());
        Assert.Equal(JsonValueKind.Null, original.GetProperty("error").ValueKind);

        var stats = Assert.Single(CliRunner.Run("stats", "--data", tmp["data"], "--json").JsonLines());
        Assert.Equal(26, stats.GetProperty("items").GetInt64()); // 29 files − 2 rejected − 1 exact duplicate
        Assert.Equal(26, stats.GetProperty("byModality").GetProperty("image").GetInt64());
        Assert.Equal(1, stats.GetProperty("flags").GetProperty("exact_duplicate").GetInt64());
        Assert.Equal(18, stats.GetProperty("flags").GetProperty("near_duplicate").GetInt64());
    }

    [Fact]
    public void A_second_process_finds_everything_the_first_indexed()
    {
        using var tmp = new TempDir();
        var input = Path.Combine(tmp.Path, "in");
        Directory.CreateDirectory(input);
        Ffmpeg.Run("-f", "lavfi", "-i", "color=c=0xD01818:s=320x240,noise=alls=20:allf=t", "-frames:v", "1", Path.Combine(input, "red.png"));
        Ffmpeg.Run("-f", "lavfi", "-i", "color=c=0x1830D0:s=320x240,noise=alls=20:allf=t", "-frames:v", "1", Path.Combine(input, "blue.jpg"));
        Ffmpeg.Run("-f", "lavfi", "-i", "color=c=0x20B030:s=300x200,noise=alls=20:allf=t", "-frames:v", "1", Path.Combine(input, "green.webp"));
        Ffmpeg.Run("-f", "lavfi", "-i", "color=c=0x2040E0:s=200x200", "-frames:v", "1", tmp["query-blue.png"]);

        var ingest = CliRunner.Run("ingest", "--data", tmp["data"], "--pack", Paths.ColorClip, "--json", input);
        Assert.Equal(0, ingest.ExitCode);
        Assert.All(ingest.JsonLines(), l => Assert.Equal("indexed", l.GetProperty("status").GetString()));

        var text = CliRunner.Run("search", "--data", tmp["data"], "--pack", Paths.ColorClip, "--text", "something red", "--k", "2", "--json");
        Assert.Equal(0, text.ExitCode);
        var answer = Assert.Single(text.JsonLines());
        Assert.Equal("something red", answer.GetProperty("query").GetString());
        var results = answer.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(2, results.Length);
        Assert.Equal(Path.Combine(input, "red.png"), results[0].GetProperty("path").GetString());
        Assert.Equal("image", results[0].GetProperty("modality").GetString());
        Assert.True(results[0].GetProperty("score").GetDouble() > 0.9);
        Assert.True(results[0].GetProperty("score").GetDouble() > results[1].GetProperty("score").GetDouble());
        Assert.Matches("^[0-9a-f]{64}$", results[0].GetProperty("id").GetString());

        var image = CliRunner.Run("search", "--data", tmp["data"], "--pack", Paths.ColorClip, "--image", tmp["query-blue.png"], "--k", "1", "--json");
        Assert.Equal(Path.Combine(input, "blue.jpg"), Assert.Single(image.JsonLines()[0].GetProperty("results").EnumerateArray()).GetProperty("path").GetString());

        // Ingesting the same files again: skipped unread (same path, size and mtime); with --rescan read again and found as
        // exact duplicates; nothing re-indexed either way.
        var again = CliRunner.Run("ingest", "--data", tmp["data"], "--pack", Paths.ColorClip, "--json", input);
        Assert.All(again.JsonLines(), l => Assert.Equal("skipped", l.GetProperty("status").GetString()));
        var rescan = CliRunner.Run("ingest", "--data", tmp["data"], "--pack", Paths.ColorClip, "--json", "--rescan", input);
        Assert.All(rescan.JsonLines(), l => Assert.Equal("duplicate", l.GetProperty("status").GetString()));
        var stats = CliRunner.Run("stats", "--data", tmp["data"], "--json").JsonLines()[0];
        Assert.Equal(3, stats.GetProperty("items").GetInt64());
        Assert.Equal(3, stats.GetProperty("packs").GetProperty("color-clip@1.0.0").GetInt64());
    }

    [Fact]
    public void The_data_folder_comes_from_MEDIA_DATA_and_search_errors_are_clear()
    {
        using var tmp = new TempDir();
        var env = new Dictionary<string, string> { ["MEDIA_DATA"] = tmp["env-data"] };
        var r = CliRunner.RunIn(tmp.Path, env, "ingest", "--json", Path.Combine(Paths.RepoRoot, "tests", "Media.Tests", "Fixtures", "codecs", "rgb.png"));
        Assert.Equal(0, r.ExitCode);
        Assert.True(File.Exists(Path.Combine(tmp["env-data"], "catalog.db")));
        var bad = CliRunner.RunIn(tmp.Path, env, "search", "--text", "red");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--pack", bad.Stderr);
        var badPack = CliRunner.RunIn(tmp.Path, env, "ingest", "--pack", "/nonexistent", "x.jpg");
        Assert.Equal(2, badPack.ExitCode);
        Assert.Contains("pack.json", badPack.Stderr);
    }
}
