using Media.Index;
using Media.Hashing;
using Media.Codecs.Audio;
using Xunit.Abstractions;

namespace Media.Tests.Hashing;

public class AudioFingerprintTests(ITestOutputHelper output)
{
    static uint[] Fingerprint(string path) => AudioFingerprint.Compute(new AudioDecoder().Decode(File.ReadAllBytes(path), AudioFingerprint.SampleRate));

    [Fact]
    public void Transcodes_and_trims_match_their_original_and_different_clips_do_not()
    {
        using var tmp = new TempDir();
        var originals = new[]
        {
            AudioMaterial.Speech(tmp.Path, "speech-a.wav", "The quick brown fox jumps over the lazy dog while the media service indexes every upload it receives today and tomorrow."),
            AudioMaterial.Speech(tmp.Path, "speech-b.wav", "Seven silent ships sailed south under a pale green sky, carrying cargo to the northern harbour before the winter storms.", "en-us"),
            AudioMaterial.Sox(tmp.Path, "chords.wav", "12", "pluck", "C4", "pluck", "E4", "pluck", "G4", "tremolo", "3", "40", "fade", "0.2", "12", "0.5"),
            AudioMaterial.Sox(tmp.Path, "sweep.wav", "10", "sine", "200-2000", "sine", "300-1500"),
        };
        var fps = originals.ToDictionary(o => o, Fingerprint);
        var same = new List<double>();
        foreach (var o in originals)
            foreach (var (kind, copy) in AudioMaterial.Copies(o, tmp.Path))
            {
                var m = FingerprintComparison.Compare(fps[o], Fingerprint(copy));
                output.WriteLine($"same  {Path.GetFileName(o),-14} {kind,-10} similarity {m.Similarity:0.000} offset {m.Offset}");
                same.Add(m.Similarity);
            }
        var different = new List<double>();
        foreach (var a in originals)
            foreach (var b in originals.Where(b => string.CompareOrdinal(a, b) < 0))
            {
                var m = FingerprintComparison.Compare(fps[a], fps[b]);
                output.WriteLine($"other {Path.GetFileName(a),-14} {Path.GetFileName(b),-14} similarity {m.Similarity:0.000}");
                different.Add(m.Similarity);
            }
        output.WriteLine($"min same {same.Min():0.000}, max different {different.Max():0.000}");
        Assert.All(same, s => Assert.True(s >= AudioNearDuplicate.DefaultMinSimilarity, $"a copy scored {s:0.000}"));
        Assert.All(different, s => Assert.True(s < AudioNearDuplicate.DefaultMinSimilarity, $"different clips scored {s:0.000}"));
    }
}
