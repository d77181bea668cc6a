
namespace Media.Codecs.Audio;

/// <summary>
/// Decodes audio to mono float32 at a requested rate: WAV in C# (<see cref="WavReader"/> + <see cref="Resampler"/>),
/// everything else — MP3, FLAC, Ogg Vorbis/Opus, AAC/M4A, AIFF and the first audio track of video files — through the
/// ffmpeg CLI with a forced demuxer per sniffed format, only the <c>file</c> protocol, a duration cap and a timeout.
/// ffmpeg reports damage in its error log while still exiting 0 (a truncated MP3 does); any error line rejects the file,
/// and so do a sample rate outside 1 Hz – 768 kHz, non-finite samples and decoded output over the duration cap.
/// For any input bytes a decode returns a clip or throws <see cref="MediaRejectedException"/>.
/// </summary>
public sealed class AudioDecoder(AudioLimits? limits = null)
{
    public AudioLimits Limits { get; } = limits ?? AudioLimits.Default;

    /// <summary>Decodes <paramref name="data"/> to mono at <paramref name="sampleRate"/> Hz, or at the file's own rate when null.</summary>
    /// <exception cref="MediaRejectedException">Empty, unsupported, corrupt, truncated, too long or too slow.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampleRate"/> is not positive (a caller's error, never the input's).</exception>
    public AudioClip Decode(ReadOnlySpan<byte> data, int? sampleRate = null)
    {
        if (sampleRate is { } requested) ArgumentOutOfRangeException.ThrowIfNegativeOrZero(requested, nameof(sampleRate));
        if (data.Length == 0) throw new MediaRejectedException("empty file (0 bytes)");
        if (data.Length > Limits.MaxEncodedBytes) throw new MediaRejectedException($"file is {data.Length} bytes, over the {Limits.MaxEncodedBytes}-byte limit");
        var format = FormatSniffer.Sniff(data[..Math.Min(32, data.Length)]);
        if (!format.IsAudio()) throw new MediaRejectedException(format == MediaFormat.Unknown ? "unrecognised format" : $"{format.Name()} is not audio");
        if (format == MediaFormat.Wav)
        {
            var clip = WavReader.Read(data, Limits);
            return sampleRate is { } rate ? Resample(clip, rate) : clip;
        }
        return DecodeWithFfmpeg(data, format, sampleRate);
    }

    /// <summary><paramref name="clip"/> at <paramref name="sampleRate"/> Hz (<see cref="Resampler"/>); the same clip when it is already there.</summary>
    public static AudioClip Resample(AudioClip clip, int sampleRate) =>
        clip.SampleRate == sampleRate ? clip : clip with { Samples = Resampler.Resample(clip.Samples, clip.SampleRate, sampleRate), SampleRate = sampleRate };

    static readonly System.Text.RegularExpressions.Regex DurationLine = new(@"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", System.Text.RegularExpressions.RegexOptions.Compiled);
    static readonly System.Text.RegularExpressions.Regex StreamRate = new(@"Audio: .*?, (\d+) Hz", System.Text.RegularExpressions.RegexOptions.Compiled);

    /// <summary>The input duration ffmpeg reports from the container ("Duration: HH:MM:SS.ss"), or null.</summary>
    static double? DeclaredDuration(IEnumerable<string> log)
    {
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        foreach (var line in log)
        {
            var m = DurationLine.Match(line);
            // Parsed as doubles: a lying header can declare any number of hours, which must not overflow an int.
            if (m.Success && double.TryParse(m.Groups[1].Value, invariant, out var hours) && double.TryParse(m.Groups[2].Value, invariant, out var minutes)
                && double.TryParse(m.Groups[3].Value, invariant, out var seconds))
                return hours * 3600 + minutes * 60 + seconds;
        }
        return null;
    }

    /// <summary>Highest sample rate accepted from a file, Hz (as <see cref="WavReader"/>).</summary>
    const int MaxSampleRate = 768000;

    AudioClip DecodeWithFfmpeg(ReadOnlySpan<byte> data, MediaFormat format, int? sampleRate)
    {
        var demuxer = format switch
        {
            MediaFormat.Mp3 => "mp3", MediaFormat.Flac => "flac", MediaFormat.Ogg => "ogg", MediaFormat.Mp4 => "mov",
            MediaFormat.Matroska => "matroska", MediaFormat.Aiff => "aiff", _ => throw new MediaRejectedException($"{format.Name()} is not supported"),
        };
        var input = Path.Combine(Path.GetTempPath(), $"media-{Guid.NewGuid():N}.{format.Name()}");
        File.WriteAllBytes(input, data.ToArray());
        try
        {
            var cap = (Limits.MaxDurationSeconds + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            // level+info: error lines are tagged, and the input's declared duration and sample rate are printed.
            string[] args = ["-nostdin", "-hide_banner", "-v", "level+info", "-nostats", "-protocol_whitelist", "file", "-f", demuxer, "-i", input,
                "-map", "0:a:0", "-t", cap, "-ac", "1", .. sampleRate is { } r ? ["-ar", r.ToString()] : Array.Empty<string>(), "-f", "f32le", "-"];
            // f32le mono: 4 bytes a sample for the capped duration at the output rate, which is at most MaxSampleRate when ffmpeg
            // keeps the file's own; a hostile header declaring a huge rate is stopped here instead of filling memory.
            var maxOutput = (long)Math.Min((Limits.MaxDurationSeconds + 1) * (sampleRate ?? MaxSampleRate) * 4.0, Array.MaxLength);
            var run = FfmpegProcess.Run(args, Limits.Timeout, format.Name(), maxOutput);
            if (run.ExitCode != 0 || run.Errors.Length > 0)
            {
                var reason = run.Errors.Any(e => e.Contains("matches no streams")) ? "no audio track"
                    : run.Errors.FirstOrDefault() ?? $"ffmpeg exited with {run.ExitCode}";
                throw new MediaRejectedException($"corrupt or unsupported {format.Name()}: {reason}");
            }
            var rate = sampleRate ?? InputRate(run.Log) ?? throw new MediaRejectedException($"{format.Name()}: ffmpeg reported no sample rate");
            if (sampleRate is null && rate is < 1 or > MaxSampleRate) throw new MediaRejectedException($"{format.Name()} sample rate {rate} Hz is not plausible");
            var samples = new float[run.Output.Length / 4];
            Buffer.BlockCopy(run.Output, 0, samples, 0, samples.Length * 4);
            if (samples.Length == 0) throw new MediaRejectedException($"{format.Name()} has no audio samples");
            var bad = Array.FindIndex(samples, x => !float.IsFinite(x));
            if (bad >= 0) throw new MediaRejectedException($"corrupt {format.Name()}: sample {bad} decodes to a non-finite value");
            var decoded = samples.Length / (double)rate;
            if (decoded > Limits.MaxDurationSeconds)
                throw new MediaRejectedException($"audio is longer than the {Limits.MaxDurationSeconds} s limit");
            // A file cut short decodes cleanly up to the cut; its header (e.g. an MP3 Xing/Info frame count) still declares the whole length.
            if (DeclaredDuration(run.Log) is { } declared && declared < Limits.MaxDurationSeconds && decoded < declared - Math.Max(0.5, 0.05 * declared))
                throw new MediaRejectedException($"truncated {format.Name()}: the header declares {declared:0.##} s but only {decoded:0.##} s decode");
            return new AudioClip(samples, rate, format);
        }
        finally
        {
            File.Delete(input);
        }
    }

    /// <summary>The sample rate of the first audio stream of the input ("Stream #0:0: Audio: mp3, 44100 Hz, …").</summary>
    static int? InputRate(IEnumerable<string> log)
    {
        foreach (var line in log)
        {
            if (!line.Contains("Stream #0:")) continue;
            var m = StreamRate.Match(line);
            if (m.Success) return int.TryParse(m.Groups[1].Value, out var rate) ? rate : -1; // -1: rejected as implausible
        }
        return null;
    }
}
