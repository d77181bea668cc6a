
namespace Media.Codecs.Audio;

/// <summary>
/// Decodes audio to mono float32 at a requested rate: WAV in C# (<see cref="WavReader"/> + <see cref="Resampler"/>),
/// everything else — MP3, FLAC, Ogg Vorbis/Opus, AAC/M4A, AIFF and the first audio track of video files — through the
/// ffmpeg CLI with a forced demuxer per sniffed format, only the <c>file</c> protocol, a duration cap and a timeout.
/// ffmpeg reports damage in its error log while still exiting 0 (a truncated MP3 does); any error line rejects the file.
/// </summary>
public sealed class AudioDecoder(AudioLimits? limits = null)
{
    public AudioLimits Limits { get; } = limits ?? AudioLimits.Default;

    /// <summary>Decodes <paramref name="data"/> to mono at <paramref name="sampleRate"/> Hz, or at the file's own rate when null.</summary>
    /// <exception cref="MediaRejectedException">Empty, unsupported, corrupt, truncated, too long or too slow.</exception>
    public AudioClip Decode(ReadOnlySpan<byte> data, int? sampleRate = null)
    {
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
        foreach (var line in log)
        {
            var m = DurationLine.Match(line);
            if (m.Success)
                return int.Parse(m.Groups[1].Value) * 3600 + int.Parse(m.Groups[2].Value) * 60 + double.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        return null;
    }

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
            var run = FfmpegProcess.Run(args, Limits.Timeout, format.Name());
            if (run.ExitCode != 0 || run.Errors.Length > 0)
            {
                var reason = run.Errors.Any(e => e.Contains("matches no streams")) ? "no audio track"
                    : run.Errors.FirstOrDefault() ?? $"ffmpeg exited with {run.ExitCode}";
                throw new MediaRejectedException($"corrupt or unsupported {format.Name()}: {reason}");
            }
            var rate = sampleRate ?? InputRate(run.Log) ?? throw new MediaRejectedException($"{format.Name()}: ffmpeg reported no sample rate");
            var samples = new float[run.Output.Length / 4];
            Buffer.BlockCopy(run.Output, 0, samples, 0, samples.Length * 4);
            if (samples.Length == 0) throw new MediaRejectedException($"{format.Name()} has no audio samples");
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
            if (m.Success) return int.Parse(m.Groups[1].Value);
        }
        return null;
    }
}
