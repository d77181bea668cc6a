using System.Text.Json;

namespace Media.Tests.Cli;

/// <summary><c>media bench pipeline</c> end to end on the colour fixture pack and the shared labelme photos (no Node peer): every
/// figure is measured and sane. Speeds are the benchmark's business, not asserted here.</summary>
public class BenchPipelineCliTests
{
    [Fact]
    public void Bench_pipeline_measures_every_rate_start_up_and_stage()
    {
        var photos = Path.Combine(Paths.Shared, "pdq", "images", "labelme-subset");
        var stage = Path.Combine(photos, "q0003.jpg");
        var r = CliRunner.Run("bench", "pipeline", "--pack", Paths.ColorClip, "--photos", photos, "--stages", stage, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var j = r.JsonLines().Single();
        Assert.Equal(Directory.GetFiles(photos).Length, j.GetProperty("photos").GetInt32());
        Assert.Equal(Environment.ProcessorCount, j.GetProperty("intraOpThreads").GetInt32());
        foreach (var rate in new[] { "encoderOnlyImagesPerSecond", "embedImagesPerSecond", "ingestImagesPerSecond", "startupSeconds", "startupSecondsWithoutHugePages", "reprocessImagesPerSecond", "reprocessVsEncoderOnly" })
            Assert.True(j.GetProperty(rate).GetDouble() > 0, rate);
        Assert.Equal(JsonValueKind.Null, j.GetProperty("node").ValueKind);
        var s = j.GetProperty("stages").EnumerateArray().Single();
        Assert.Equal("q0003.jpg", s.GetProperty("input").GetString());
        Assert.True(s.GetProperty("decode").GetDouble() > 0);
        Assert.Equal(s.GetProperty("decode").GetDouble() + s.GetProperty("pdq").GetDouble() + s.GetProperty("preprocess").GetDouble(),
            s.GetProperty("decodePreprocessPdq").GetDouble(), 1);
    }

    [Fact]
    public void Bench_pipeline_names_an_empty_photo_folder()
    {
        using var tmp = new TempDir();
        var r = CliRunner.Run("bench", "pipeline", "--pack", Paths.ColorClip, "--photos", tmp.Path, "--json");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("holds no photos", r.Stderr);
    }
}
