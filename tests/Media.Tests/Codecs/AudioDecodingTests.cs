using System.Buffers.Binary;
using Media.Codecs;
using Media.Codecs.Audio;
using Media.Embeddings.Packs;
using Media.Embeddings.Preprocessing;

namespace Media.Tests.Codecs;

public class AudioDecodingTests
{
    /// <summary>sox -n FORMAT… FILE EFFECTS…: <paramref name="args"/> holds the output format, "--", then the effects.</summary>
    static string Sox(TempDir tmp, string name, params string[] args)
    {
        var path = tmp[name];
        TestProcess.Check("sox", ["-n", .. args.TakeWhile(a => a != "--"), path, .. args.SkipWhile(a => a != "--").Skip(1)]);
        return path;
    }

    static int ZeroCrossings(float[] x) => Enumerable.Range(1, x.Length - 1).Count(i => x[i - 1] < 0 != x[i] < 0);
    static double Rms(float[] x) => Math.Sqrt(x.Average(v => (double)v * v));

    [Theory]
    [InlineData("s16-stereo.wav", "-r", "44100", "-b", "16", "-c", "2")]
    [InlineData("u8-mono.wav", "-r", "22050", "-b", "8", "-e", "unsigned-integer", "-c", "1")]
    [InlineData("s24-3ch-extensible.wav", "-r", "48000", "-b", "24", "-c", "3")]
    [InlineData("s32-mono.wav", "-r", "32000", "-b", "32", "-e", "signed-integer", "-c", "1")]
    [InlineData("f32-stereo.wav", "-r", "44100", "-b", "32", "-e", "floating-point", "-c", "2")]
    [InlineData("f64-6ch.wav", "-r", "48000", "-b", "64", "-e", "floating-point", "-c", "6")]
    public void Wav_layouts_decode_to_the_same_mono_signal(string name, params string[] format)
    {
        using var tmp = new TempDir();
        var path = Sox(tmp, name, [.. format, "--", "synth", "2", "sine", "440", "vol", "0.5"]);
        var clip = new AudioDecoder().Decode(File.ReadAllBytes(path), 16000);
        Assert.Equal(MediaFormat.Wav, clip.Format);
        Assert.Equal(2.0, clip.DurationSeconds, 2);
        Assert.InRange(ZeroCrossings(clip.Samples), 2 * 880 - 6, 2 * 880 + 6);      // 440 Hz for 2 s
        Assert.InRange(Rms(clip.Samples), 0.5 / Math.Sqrt(2) * 0.97, 0.5 / Math.Sqrt(2) * 1.03);
    }

    [Fact]
    public void Other_formats_go_through_ffmpeg_at_the_requested_rate()
    {
        using var tmp = new TempDir();
        var wav = Sox(tmp, "tone.wav", "-r", "44100", "--", "synth", "3", "sine", "1000", "vol", "0.5");
        foreach (var ext in new[] { "mp3", "flac", "ogg", "m4a" })
        {
            Ffmpeg.Run("-i", wav, tmp[$"tone.{ext}"]);
            var clip = new AudioDecoder().Decode(File.ReadAllBytes(tmp[$"tone.{ext}"]), 16000);
            Assert.Equal(16000, clip.SampleRate);
            Assert.InRange(clip.DurationSeconds, 2.95, 3.1);
            Assert.InRange(ZeroCrossings(clip.Samples) / clip.DurationSeconds, 1960, 2040);
        }
    }

    [Fact]
    public void A_video_file_gives_its_first_audio_track_and_one_without_audio_is_rejected()
    {
        using var tmp = new TempDir();
        Ffmpeg.Run("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-f", "lavfi", "-i", "sine=frequency=500:sample_rate=44100", "-t", "3", "-shortest", tmp["clip.mp4"]);
        Ffmpeg.Run("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "2", tmp["silent.mkv"]);
        var clip = new AudioDecoder().Decode(File.ReadAllBytes(tmp["clip.mp4"]), 16000);
        Assert.InRange(ZeroCrossings(clip.Samples) / clip.DurationSeconds, 960, 1040);
        Assert.Contains("no audio track", Assert.Throws<MediaRejectedException>(() => new AudioDecoder().Decode(File.ReadAllBytes(tmp["silent.mkv"]), 16000)).Message);
    }

    [Fact]
    public void A_wav_with_a_lying_header_and_a_truncated_mp3_are_rejected()
    {
        using var tmp = new TempDir();
        var wav = File.ReadAllBytes(Sox(tmp, "t.wav", "-r", "16000", "-b", "16", "--", "synth", "1", "sine", "300"));
        var data = wav.AsSpan().IndexOf("data"u8);
        BinaryPrimitives.WriteUInt32LittleEndian(wav.AsSpan(data + 4), 10_000_000);
        Assert.Contains("lying header", Assert.Throws<MediaRejectedException>(() => new AudioDecoder().Decode(wav, 16000)).Message);

        Ffmpeg.Run("-i", tmp["t.wav"], "-b:a", "128k", tmp["t.mp3"]);
        var mp3 = File.ReadAllBytes(tmp["t.mp3"]);
        Assert.Matches("truncated mp3: the header declares|corrupt or unsupported mp3", Assert.Throws<MediaRejectedException>(() => new AudioDecoder().Decode(mp3[..(mp3.Length / 3)], 16000)).Message);
        Assert.Contains("not audio", Assert.Throws<MediaRejectedException>(() => new AudioDecoder().Decode(File.ReadAllBytes(Path.Combine(Paths.RepoRoot, "tests", "Media.Tests", "Fixtures", "codecs", "rgb.png")), 16000)).Message);
        Assert.Contains("over the 1 s limit", Assert.Throws<MediaRejectedException>(() => new AudioDecoder(new AudioLimits { MaxDurationSeconds = 1 }).Decode(File.ReadAllBytes(Sox(tmp, "long.wav", "-r", "8000", "--", "synth", "3", "sine", "300")), 8000)).Message);
    }

    [Fact]
    public void Resampling_keeps_the_passband_and_removes_what_the_new_rate_cannot_hold()
    {
        const int rate = 44100;
        float[] Tone(double hz) => Enumerable.Range(0, rate).Select(i => (float)(0.5 * Math.Sin(2 * Math.PI * hz * i / rate))).ToArray();
        var kept = Resampler.Resample(Tone(1000), rate, 48000);
        Assert.Equal(48000, kept.Length);
        Assert.InRange(ZeroCrossings(kept), 1995, 2005);
        Assert.InRange(Rms(kept[2000..^2000]), 0.5 / Math.Sqrt(2) * 0.99, 0.5 / Math.Sqrt(2) * 1.01);
        var aliased = Resampler.Resample(Tone(12000), rate, 16000);   // above the new Nyquist (8 kHz)
        Assert.True(Rms(aliased[2000..^2000]) < 0.005, $"residual {Rms(aliased[2000..^2000])}");
    }

    [Fact]
    public void Log_mel_has_clap_shape_and_puts_a_tone_in_its_band()
    {
        var p = new AudioPreprocessing();
        var mel = new LogMelSpectrogram(p);
        Assert.Equal(1001, mel.Frames(480000));
        // Slaney mel scale: linear to 1 kHz (15 mels), logarithmic above.
        Assert.Equal(15, LogMelSpectrogram.HzToMel(1000, "slaney"), 9);
        Assert.Equal(7.5, LogMelSpectrogram.HzToMel(500, "slaney"), 9);
        Assert.Equal(6400, LogMelSpectrogram.MelToHz(42, "slaney"), 6);

        var samples = Enumerable.Range(0, 48000).Select(i => (float)Math.Sin(2 * Math.PI * 1000 * i / 48000.0)).ToArray();
        var output = new float[mel.Frames(samples.Length) * 64];
        mel.Compute(samples, output);
        var frame = output.AsSpan(50 * 64, 64).ToArray();
        var peak = Array.IndexOf(frame, frame.Max());
        // The filter whose centre is nearest 1 kHz: centres are the inner edges of 66 points evenly spaced in mels.
        double lo = LogMelSpectrogram.HzToMel(50, "slaney"), hi = LogMelSpectrogram.HzToMel(14000, "slaney");
        var centres = Enumerable.Range(1, 64).Select(i => LogMelSpectrogram.MelToHz(lo + (hi - lo) * i / 65, "slaney")).ToArray();
        Assert.Equal(Array.IndexOf(centres, centres.MinBy(c => Math.Abs(c - 1000))), peak);
        Assert.True(frame[peak] - frame[63] > 60, "a pure tone leaves the top band 60 dB down");

        var silence = new float[mel.Frames(4800) * 64];
        mel.Compute(new float[4800], silence);
        Assert.All(silence, v => Assert.Equal(-100f, v));
    }
}
