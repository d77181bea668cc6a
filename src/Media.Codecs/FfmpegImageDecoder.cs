using System.Text;

namespace Media.Codecs;

/// <summary>
/// Fallback decoder: the ffmpeg CLI reads the first frame of formats the in-process decoders do not
/// (GIF, BMP, TIFF, AVIF/HEIF where ffmpeg supports them) and writes it as a PAM image with RGBA pixels.
/// The demuxer is forced from the sniffed format, only the <c>file</c> protocol is allowed (a hostile file cannot
/// make ffmpeg open URLs or other files), <c>-max_pixels</c> refuses bombs, and the process is killed after the timeout.
/// </summary>
internal static class FfmpegImageDecoder
{
    public static DecodedImage Decode(ReadOnlySpan<byte> data, MediaFormat format, DecodeLimits limits)
    {
        var demuxer = format switch
        {
            MediaFormat.Gif => "gif",
            MediaFormat.Bmp => "bmp_pipe",
            MediaFormat.Tiff => "tiff_pipe",
            MediaFormat.Avif or MediaFormat.Heif => "mov",
            _ => throw new MediaRejectedException($"{format.Name()} is not supported"),
        };
        var input = Path.Combine(Path.GetTempPath(), $"media-{Guid.NewGuid():N}.{format.Name()}");
        File.WriteAllBytes(input, data.ToArray());
        try
        {
            // ffmpeg's max_pixels is an int option; the PAM it writes is 4 bytes a pixel plus a short text header.
            var maxPixels = Math.Clamp(limits.MaxPixels, 1, int.MaxValue);
            var r = FfmpegProcess.Run(["-nostdin", "-hide_banner", "-v", "level+error", "-protocol_whitelist", "file",
                "-max_pixels", maxPixels.ToString(), "-f", demuxer, "-i", input,
                "-frames:v", "1", "-pix_fmt", "rgba", "-c:v", "pam", "-f", "image2pipe", "-"], limits.Timeout, format.Name(),
                maxOutputBytes: maxPixels * 4 + 4096);
            if (r.ExitCode != 0 || r.Output.Length == 0)
                throw new MediaRejectedException($"corrupt or unsupported {format.Name()}: {r.Errors.LastOrDefault() ?? "ffmpeg produced no frame"}");
            var (w, h, rgba) = ParsePam(r.Output, format);
            if ((long)w * h > limits.MaxPixels) throw new MediaRejectedException($"{format.Name()} is {w}×{h}, over the {limits.MaxPixels}-pixel limit");
            return new DecodedImage(ImageDecoder.CompositeRgba(rgba, w, h), format, w, h);
        }
        finally
        {
            File.Delete(input);
        }
    }

    /// <summary>Parses a Netpbm PAM header (WIDTH/HEIGHT/DEPTH 4/MAXVAL 255, ENDHDR) and returns the RGBA payload (exactly W·H·4 bytes).</summary>
    static (int W, int H, byte[] Rgba) ParsePam(byte[] pam, MediaFormat format)
    {
        var end = pam.AsSpan().IndexOf("ENDHDR\n"u8);
        if (!pam.AsSpan().StartsWith("P7\n"u8) || end < 0) throw new MediaRejectedException($"{format.Name()}: ffmpeg returned no PAM image");
        int w = 0, h = 0, depth = 0, maxval = 0;
        foreach (var line in Encoding.ASCII.GetString(pam, 0, end).Split('\n'))
        {
            var parts = line.Split(' ', 2);
            if (parts.Length != 2) continue;
            _ = parts[0] switch
            {
                "WIDTH" => int.TryParse(parts[1], out w),
                "HEIGHT" => int.TryParse(parts[1], out h),
                "DEPTH" => int.TryParse(parts[1], out depth),
                "MAXVAL" => int.TryParse(parts[1], out maxval),
                _ => false,
            };
        }
        var start = end + 7;
        if (depth != 4 || maxval != 255 || w <= 0 || h <= 0 || pam.Length - start < (long)w * h * 4)
            throw new MediaRejectedException($"{format.Name()}: unexpected PAM from ffmpeg ({w}×{h}, depth {depth}, maxval {maxval})");
        return (w, h, pam[start..(start + w * h * 4)]);
    }
}
