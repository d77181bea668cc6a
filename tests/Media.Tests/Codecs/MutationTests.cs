using System.Buffers.Binary;
using Media.Codecs;
using Media.Codecs.Audio;

namespace Media.Tests.Codecs;

/// <summary>
/// The decoders' contract under hostile input: for any bytes, a decode returns a well-formed result or throws
/// <see cref="MediaRejectedException"/> with a reason; no other exception, no crash, no hang. Real media
/// (<see cref="HostileCorpus"/>) is mutated with fixed seeds — truncated, bit-flipped, spliced, header fields set to extreme values,
/// random bytes behind a real signature, empty and one-byte files — and every outcome is checked. A failure names the decoder,
/// the source, the seed and the mutation, and leaves the input in <c>$TMPDIR/media-mutation-failures/</c> to reproduce it.
/// In-process decoders (TurboJPEG, libspng, libwebp, WAV) get many cases; the ffmpeg paths spawn a process each, so fewer.
/// </summary>
public class MutationTests
{
    /// <summary>Cases per source and mutation kind for an in-process decoder: 30, or <c>MEDIA_MUTATIONS</c> for a longer soak.</summary>
    static readonly int InProcessCases = Setting("MEDIA_MUTATIONS", 30);
    /// <summary>Cases per mutation kind for an ffmpeg path, taking its sources in turn (each case is a process): 4, or <c>MEDIA_MUTATIONS_FFMPEG</c>.</summary>
    static readonly int FfmpegCases = Setting("MEDIA_MUTATIONS_FFMPEG", 4);

    static int Setting(string name, int fallback) => int.TryParse(Environment.GetEnvironmentVariable(name), out var n) && n > 0 ? n : fallback;
    /// <summary>A decode slower than this is a hang.</summary>
    static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(20);

    static readonly ImageDecoder Images = new(new DecodeLimits { Timeout = TimeSpan.FromSeconds(10) });
    static readonly AudioDecoder Audio = new(new AudioLimits { Timeout = TimeSpan.FromSeconds(10), MaxDurationSeconds = 120 });

    /// <summary>The decoder families under test: which sources feed them.</summary>
    static readonly Dictionary<string, MediaFormat[]> Families = new()
    {
        ["jpeg"] = [MediaFormat.Jpeg],
        ["png"] = [MediaFormat.Png],
        ["webp"] = [MediaFormat.WebP],
        ["wav"] = [MediaFormat.Wav],
        ["ffmpeg-image"] = [MediaFormat.Gif, MediaFormat.Bmp, MediaFormat.Tiff],
        ["ffmpeg-audio"] = [MediaFormat.Mp3, MediaFormat.Flac, MediaFormat.Ogg],
    };

    static bool IsFfmpeg(string family) => family.StartsWith("ffmpeg");

    public static TheoryData<string, MutationKind> Cases()
    {
        var data = new TheoryData<string, MutationKind>();
        foreach (var family in Families.Keys)
            foreach (var kind in Enum.GetValues<MutationKind>())
                data.Add(family, kind);
        return data;
    }

    [Fact]
    public void Every_real_source_decodes()
    {
        foreach (var s in HostileCorpus.Samples)
        {
            var outcome = Decode(s.Bytes);
            Assert.True(outcome is null, $"{s.Name} did not decode: {outcome}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_mutation_decodes_or_is_rejected_with_a_reason(string family, MutationKind kind)
    {
        var sources = HostileCorpus.Of(Families[family]);
        // (source, index) of each case. Empty and one-byte files never reach a decoder, so they are few; ffmpeg cases take the
        // family's sources in turn; in-process cases are many for every source.
        var cases = kind switch
        {
            MutationKind.Empty => sources.Select((_, s) => (s, 0)),
            MutationKind.OneByte => sources.SelectMany((_, s) => Enumerable.Range(0, 4).Select(i => (s, i))),
            _ when IsFfmpeg(family) => Enumerable.Range(0, FfmpegCases).Select(i => (i % sources.Length, i)),
            _ => sources.SelectMany((_, s) => Enumerable.Range(0, InProcessCases).Select(i => (s, i))),
        };
        var failures = new List<string>();
        int count = 0, rejected = 0;
        foreach (var (s, i) in cases)
        {
            var seed = Seed(family, kind, s, i);
            var (bytes, what) = HostileCorpus.Mutate(sources[s], kind, new Random(seed));
            var outcome = Check(bytes);
            count++;
            if (outcome == "rejected") rejected++;
            else if (outcome is not null) failures.Add(Report(family, sources[s], kind, seed, what, bytes, outcome));
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} cases broke the contract:\n" + string.Join("\n", failures));
        if (kind is MutationKind.Empty or MutationKind.OneByte) Assert.True(rejected == count, "an empty or one-byte file was not rejected");
    }

    [Fact]
    public void A_wav_chunk_declaring_4_GiB_is_rejected_not_thrown()
    {
        // The reported defect: a chunk size near 2^32 wrapped the chunk walk past the end of the file (ArgumentOutOfRangeException).
        var wav = HostileCorpus.Of(MediaFormat.Wav)[0].Bytes;
        foreach (var size in new uint[] { 0xFFFFFFFF, 0xFFFFFFFE, 0x80000000, 0x7FFFFFFF, 0x7FFFFFF8 })
        {
            byte[] junk = [.. wav[..12], .. "LIST"u8, 0, 0, 0, 0, .. wav[12..]];
            BinaryPrimitives.WriteUInt32LittleEndian(junk.AsSpan(16), size);
            var ex = Assert.Throws<MediaRejectedException>(() => WavReader.Read(junk, AudioLimits.Default));
            Assert.Contains("WAV", ex.Message);
            var fmt = (byte[])wav.Clone();
            BinaryPrimitives.WriteUInt32LittleEndian(fmt.AsSpan(16), size); // the fmt chunk's own size
            Assert.Throws<MediaRejectedException>(() => WavReader.Read(fmt, AudioLimits.Default));
        }
    }

    [Fact]
    public void A_float_wav_with_a_nan_sample_is_rejected()
    {
        var wav = (byte[])HostileCorpus.Samples.First(s => s.Name == "speech-f32.wav").Bytes.Clone();
        var data = wav.AsSpan().IndexOf("data"u8) + 8;
        BinaryPrimitives.WriteSingleLittleEndian(wav.AsSpan(data + 400), float.NaN);
        var ex = Assert.Throws<MediaRejectedException>(() => Audio.Decode(wav));
        Assert.Contains("non-finite", ex.Message);
    }

    [Fact]
    public void Ffmpeg_output_over_the_cap_is_rejected()
    {
        string[] args = ["-nostdin", "-v", "level+error", "-f", "lavfi", "-i", "sine=d=5", "-f", "f32le", "-"];
        var ex = Assert.Throws<MediaRejectedException>(() => FfmpegProcess.Run(args, TimeSpan.FromSeconds(20), "sine", maxOutputBytes: 100_000));
        Assert.Contains("more than 100000 bytes", ex.Message);
    }

    [Fact]
    public void Unreadable_paths_and_endless_files_are_rejected()
    {
        var reader = new SourceReader(new DecodeLimits { MaxEncodedBytes = 1 << 20 });
        Assert.Throws<MediaRejectedException>(() => reader.ReadFile(""));
        Assert.Throws<MediaRejectedException>(() => reader.ReadFile("bad\0path.jpg"));
        Assert.Throws<MediaRejectedException>(() => reader.ReadFile(Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.jpg")));
        if (File.Exists("/dev/zero"))
            Assert.Contains("limit", Assert.Throws<MediaRejectedException>(() => reader.ReadFile("/dev/zero")).Message);
    }

    [Fact]
    public void The_hostile_corpus_is_deterministic_and_honours_the_contract()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var first = HostileCorpus.Write(a.Path, 431, 45);
        var second = HostileCorpus.Write(b.Path, 431, 45);
        Assert.Equal(45, first.Length);
        Assert.Equal(first.Select(Path.GetFileName), second.Select(Path.GetFileName));
        for (var i = 0; i < first.Length; i++) Assert.Equal(File.ReadAllBytes(first[i]), File.ReadAllBytes(second[i]));
        Assert.Equal(Enum.GetValues<MutationKind>().Length, first.Select(p => Path.GetFileName(p).Split('-')[1]).Distinct().Count());
        Assert.All(first, p => Assert.Contains(Path.GetExtension(p), new[] { ".jpg", ".png", ".webp", ".wav", ".mp3" }));
        var reader = new SourceReader();
        var failures = first.Select(p => (p, outcome: Check(reader.ReadFile(p)))).Where(x => x.outcome is not (null or "rejected"))
            .Select(x => $"{Path.GetFileName(x.p)}: {x.outcome}").ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>The seed of one case: stable across runs and distinct across families, kinds, sources and indices.</summary>
    static int Seed(string family, MutationKind kind, int source, int index)
    {
        var f = Families.Keys.ToList().IndexOf(family);
        return ((f * 16 + (int)kind) * 64 + source) * 100_000 + index;
    }

    /// <summary>Null when the bytes decode to a well-formed result, "rejected" for a <see cref="MediaRejectedException"/> with a
    /// reason, otherwise what went wrong.</summary>
    static string? Check(byte[] bytes)
    {
        var decode = Task.Run(() => Decode(bytes));
        if (!decode.Wait(HangLimit)) return $"hang: no outcome after {HangLimit.TotalSeconds} s";
        return decode.Result;
    }

    /// <summary>Decodes as the encode stage does (audio by its sniffed format, everything else as an image) and checks the result.</summary>
    static string? Decode(byte[] bytes)
    {
        try
        {
            var head = bytes.AsSpan(0, Math.Min(32, bytes.Length));
            if (FormatSniffer.Sniff(head).IsAudio())
            {
                var clip = Audio.Decode(bytes);
                if (clip.Samples.Length == 0 || clip.SampleRate <= 0) return $"malformed clip: {clip.Samples.Length} samples at {clip.SampleRate} Hz";
                if (clip.Samples.Any(x => !float.IsFinite(x))) return "malformed clip: non-finite samples";
                return null;
            }
            var d = Images.Decode(bytes);
            var img = d.Image;
            if (img.Width <= 0 || img.Height <= 0 || img.Pixels.Length != img.Width * img.Height * 3 || d.Width <= 0 || d.Height <= 0)
                return $"malformed image: {img.Width}×{img.Height} with {img.Pixels.Length} bytes, declared {d.Width}×{d.Height}";
            return null;
        }
        catch (MediaRejectedException ex)
        {
            return string.IsNullOrWhiteSpace(ex.Message) ? "MediaRejectedException without a reason" : "rejected";
        }
        catch (Exception ex)
        {
            return $"{ex.GetType().FullName}: {ex.Message}\n{ex.StackTrace}";
        }
    }

    static string Report(string family, MediaSample source, MutationKind kind, int seed, string what, byte[] bytes, string outcome)
    {
        var dir = Path.Combine(Path.GetTempPath(), "media-mutation-failures");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, $"{family}-{kind}-seed{seed}.{source.Extension}");
        File.WriteAllBytes(file, bytes);
        return $"[{family}] {source.Name} {kind} seed {seed} ({what}) → {outcome}\n  input kept at {file}";
    }
}
