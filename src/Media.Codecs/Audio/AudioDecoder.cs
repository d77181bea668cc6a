using System.Diagnostics;

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

    /// <exception cref="MediaRejectedException">Empty, unsupported, corrupt, too long or too slow.</exception>
    public AudioClip Decode(ReadOnlySpan<byte> data, int sampleRate)
    {
        if (data.Length == 0) throw new MediaRejectedException("empty file (0 bytes)");
        if (data.Length > Limits.MaxEncodedBytes) throw new MediaRejectedException($"file is {data.Length} bytes, over the {Limits.MaxEncodedBytes}-byte limit");
        var format = FormatSniffer.Sniff(data[..Math.Min(32, data.Length)]);
        if (!format.IsAudio()) throw new MediaRejectedException(format == MediaFormat.Unknown ? "unrecognised format" : $"{format.Name()} is not audio");
        if (format == MediaFormat.Wav)
        {
            var clip = WavReader.Read(data, Limits);
            return clip with { Samples = Resampler.Resample(clip.Samples, clip.SampleRate, sampleRate), SampleRate = sampleRate };
        }
        return DecodeWithFfmpeg(data, format, sampleRate);
    }

    static readonly System.Text.RegularExpressions.Regex DurationLine = new(@"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", System.Text.RegularExpressions.RegexOptions.Compiled);

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

    AudioClip DecodeWithFfmpeg(ReadOnlySpan<byte> data, MediaFormat format, int sampleRate)
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
            var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-nostdin", "-hide_banner", "-v", "level+info", "-nostats", "-protocol_whitelist", "file", "-f", demuxer, "-i", input,
                         "-map", "0:a:0", "-t", cap, "-ac", "1", "-ar", sampleRate.ToString(), "-f", "f32le", "-" })
                psi.ArgumentList.Add(a);
            using var process = Process.Start(psi) ?? throw new MediaRejectedException("cannot start ffmpeg");
            using var pcm = new MemoryStream();
            var copy = process.StandardOutput.BaseStream.CopyToAsync(pcm);
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(Limits.Timeout))
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                process.WaitForExit();
                throw new MediaRejectedException($"{format.Name()} decode exceeded the {Limits.Timeout.TotalSeconds:0.#} s time limit");
            }
            copy.Wait();
            var log = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var errors = log.Where(l => l.Contains("[error]") || l.Contains("[fatal]")).Select(l => l.Replace("[error] ", "").Replace("[fatal] ", "")).ToArray();
            if (process.ExitCode != 0 || errors.Length > 0)
            {
                var reason = errors.FirstOrDefault(e => e.Contains("matches no streams")) is not null ? "no audio track"
                    : errors.Length > 0 ? System.Text.RegularExpressions.Regex.Replace(errors[0], @"^\[[^\]]*@ 0x[0-9a-f]+\]\s*", "") : $"ffmpeg exited with {process.ExitCode}";
                throw new MediaRejectedException($"corrupt or unsupported {format.Name()}: {reason}");
            }
            var samples = new float[pcm.Length / 4];
            Buffer.BlockCopy(pcm.GetBuffer(), 0, samples, 0, samples.Length * 4);
            if (samples.Length == 0) throw new MediaRejectedException($"{format.Name()} has no audio samples");
            var decoded = samples.Length / (double)sampleRate;
            if (decoded > Limits.MaxDurationSeconds)
                throw new MediaRejectedException($"audio is longer than the {Limits.MaxDurationSeconds} s limit");
            // A file cut short decodes cleanly up to the cut; its header (e.g. an MP3 Xing/Info frame count) still declares the whole length.
            if (DeclaredDuration(log) is { } declared && declared < Limits.MaxDurationSeconds && decoded < declared - Math.Max(0.5, 0.05 * declared))
                throw new MediaRejectedException($"truncated {format.Name()}: the header declares {declared:0.##} s but only {decoded:0.##} s decode");
            return new AudioClip(samples, sampleRate, format);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new MediaRejectedException($"{format.Name()} needs the ffmpeg CLI, which is not installed ({ex.Message})", ex);
        }
        finally
        {
            File.Delete(input);
        }
    }
}
