using System.Text.Json;

namespace Media.Tests.Cli;

/// <summary>Audio through the real executable: hash, ingest with Chromaprint near-duplicates, search by text and by audio.</summary>
public class AudioCliTests
{
    static string Tones(TempDir tmp, out string originals)
    {
        originals = tmp["1-originals"];
        Directory.CreateDirectory(originals);
        AudioMaterial.Speech(originals, "speech-a.wav", "The quick brown fox jumps over the lazy dog while the media service indexes every upload it receives today.");
        AudioMaterial.Speech(originals, "speech-b.wav", "Seven silent ships sailed south under a pale green sky, carrying cargo to the northern harbour.", "en-us");
        AudioMaterial.Sox(originals, "low-hum.wav", "8", "sine", "90", "sine", "120");
        AudioMaterial.Sox(originals, "whistle.wav", "8", "sine", "3400-3800");
        AudioMaterial.Sox(originals, "hiss.wav", "8", "whitenoise", "vol", "0.4");
        var copies = tmp["2-copies"];
        Directory.CreateDirectory(copies);
        foreach (var o in new[] { "speech-a.wav", "speech-b.wav", "low-hum.wav" })
            AudioMaterial.Copies(Path.Combine(originals, o), copies);
        var bad = tmp["3-bad"];
        Directory.CreateDirectory(bad);
        var mp3 = File.ReadAllBytes(Path.Combine(copies, "speech-a-128k.mp3"));
        File.WriteAllBytes(Path.Combine(bad, "truncated.mp3"), mp3[..(mp3.Length / 3)]);
        var wav = File.ReadAllBytes(Path.Combine(originals, "hiss.wav"));
        var data = wav.AsSpan().IndexOf("data"u8);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(wav.AsSpan(data + 4), 50_000_000);
        File.WriteAllBytes(Path.Combine(bad, "lying-header.wav"), wav);
        return tmp.Path;
    }

    [Fact]
    public void Copies_are_flagged_against_their_original_bad_files_rejected_and_text_finds_the_low_tone()
    {
        using var tmp = new TempDir();
        Tones(tmp, out var originals);
        var r = CliRunner.Run("ingest", "--data", tmp["data"], "--pack", Paths.ColorClip, "--pack", Path.Combine(Paths.RepoRoot, "models", "fixtures", "tone-clap"), "--json",
            tmp["1-originals"], tmp["2-copies"], tmp["3-bad"]);
        Assert.Equal(0, r.ExitCode);
        var lines = r.JsonLines().ToDictionary(l => Path.GetFileName(l.GetProperty("path").GetString()!));
        Assert.Equal(5 + 15 + 2, lines.Count);

        var ids = lines.Where(l => l.Key is "speech-a.wav" or "speech-b.wav" or "low-hum.wav").ToDictionary(l => Path.GetFileNameWithoutExtension(l.Key), l => l.Value.GetProperty("id").GetString());
        foreach (var (name, line) in lines.Where(l => Path.GetDirectoryName(l.Value.GetProperty("path").GetString())!.EndsWith("1-originals")))
        {
            Assert.Equal("audio", line.GetProperty("modality").GetString());
            Assert.Empty(line.GetProperty("flags").EnumerateArray());
        }
        foreach (var (name, line) in lines.Where(l => Path.GetDirectoryName(l.Value.GetProperty("path").GetString())!.EndsWith("2-copies")))
        {
            var original = ids.Keys.Single(k => name.StartsWith(k));
            var flag = Assert.Single(line.GetProperty("flags").EnumerateArray());
            Assert.Equal(("near_duplicate", "chromaprint", ids[original]), (flag.GetProperty("kind").GetString(), flag.GetProperty("method").GetString(), flag.GetProperty("of").GetString()));
            Assert.True(flag.GetProperty("distance").GetDouble() <= flag.GetProperty("threshold").GetDouble());
        }
        Assert.Matches("truncated mp3|corrupt or unsupported mp3", lines["truncated.mp3"].GetProperty("error").GetString());
        Assert.Contains("lying header", lines["lying-header.wav"].GetProperty("error").GetString());

        var search = CliRunner.Run("search", "--data", tmp["data"], "--pack", Path.Combine(Paths.RepoRoot, "models", "fixtures", "tone-clap"), "--text", "a low bass hum", "--k", "1", "--json");
        Assert.Equal(0, search.ExitCode);
        var hit = Assert.Single(search.JsonLines()[0].GetProperty("results").EnumerateArray());
        Assert.Equal(Path.Combine(originals, "low-hum.wav"), hit.GetProperty("path").GetString());
        Assert.Equal("audio", hit.GetProperty("modality").GetString());

        var byAudio = CliRunner.Run("search", "--data", tmp["data"], "--pack", Path.Combine(Paths.RepoRoot, "models", "fixtures", "tone-clap"), "--audio", Path.Combine(originals, "whistle.wav"), "--k", "1", "--json");
        Assert.EndsWith("whistle.wav", byAudio.JsonLines()[0].GetProperty("results")[0].GetProperty("path").GetString());

        // Text search with both packs merges image and audio spaces; every hit names its pack.
        var both = CliRunner.Run("search", "--data", tmp["data"], "--pack", Paths.ColorClip, "--pack", Path.Combine(Paths.RepoRoot, "models", "fixtures", "tone-clap"), "--text", "hiss", "--k", "3", "--json");
        Assert.Equal("tone-clap", both.JsonLines()[0].GetProperty("results")[0].GetProperty("pack").GetString());
    }

    [Fact]
    public void Hash_prints_duration_and_chromaprint_for_audio()
    {
        using var tmp = new TempDir();
        var wav = AudioMaterial.Sox(tmp.Path, "tone.wav", "5", "sine", "440-880");
        var r = CliRunner.Run("hash", "--json", wav);
        Assert.Equal(0, r.ExitCode);
        var line = Assert.Single(r.JsonLines());
        Assert.Equal("wav", line.GetProperty("format").GetString());
        Assert.Equal(5.0, line.GetProperty("durationSeconds").GetDouble(), 2);
        Assert.StartsWith("AQAA", line.GetProperty("chromaprint").GetString());
        Assert.Matches("^[0-9a-f]{64}$", line.GetProperty("sha256").GetString());
    }
}
