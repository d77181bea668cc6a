using Media.Tests.Codecs;

namespace Media.Tests.Cli;

/// <summary>One ingest run over hundreds of hostile files made from real media with good files among them.</summary>
public sealed class HostileIngestTests : IDisposable
{
    readonly TempDir _tmp = new();

    [Fact]
    public void Every_hostile_file_gets_a_result_with_a_reason_and_every_good_file_is_indexed()
    {
        var folder = _tmp["input"];
        var hostile = HostileCorpus.Write(folder, seed: 10, count: 300);
        // Good files between the hostile ones, so that they share encode batches with them.
        var photo = Path.Combine(folder, "0150-good-photo.jpg");
        File.Copy(Directory.GetFiles(Path.Combine(Paths.Shared, "pdq", "images"), "*.jpg", SearchOption.AllDirectories).Order().First(), photo);
        var png = Path.Combine(folder, "0151-good-drawing.png");
        Ffmpeg.Run("-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", png);
        var speech = AudioMaterial.Speech(folder, "0152-good-speech.wav", "one good file among the bad ones");

        var r = CliRunner.Run("ingest", "--json", "--data", _tmp["data"], "--pack", Paths.ColorClip, "--pack", Path.Combine(Paths.RepoRoot, "models", "fixtures", "tone-clap"), folder);

        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");
        var lines = r.JsonLines().ToDictionary(l => l.GetProperty("path").GetString()!);
        Assert.Equal(hostile.Length + 3, lines.Count);
        foreach (var path in hostile)
        {
            var line = lines[path];
            var status = line.GetProperty("status").GetString();
            Assert.Contains(status, new[] { "indexed", "duplicate", "rejected" });
            if (status == "rejected") Assert.False(string.IsNullOrWhiteSpace(line.GetProperty("error").GetString()), $"{path}: rejected without a reason");
        }
        Assert.True(hostile.Count(p => lines[p].GetProperty("status").GetString() == "rejected") > hostile.Length / 2, "most hostile files are rejected");
        foreach (var good in new[] { photo, png, speech })
            Assert.Equal("indexed", lines[good].GetProperty("status").GetString());
        Assert.Equal("audio", lines[speech].GetProperty("modality").GetString());
    }

    public void Dispose() => _tmp.Dispose();
}
