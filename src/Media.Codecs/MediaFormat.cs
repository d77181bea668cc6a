namespace Media.Codecs;

/// <summary>Container formats recognised from their leading bytes (never from a file name).</summary>
public enum MediaFormat
{
    Unknown,
    Jpeg, Png, WebP, Gif, Bmp, Tiff, Avif, Heif,
    Wav, Mp3, Flac, Ogg, Mp4, Matroska, Aiff,
}

/// <summary>Identifies a format from the first bytes of a file (its magic number / signature).</summary>
public static class FormatSniffer
{
    /// <summary>The format whose signature <paramref name="head"/> starts with (16 bytes suffice), or <see cref="MediaFormat.Unknown"/>.</summary>
    public static MediaFormat Sniff(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return MediaFormat.Jpeg;
        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])) return MediaFormat.Png;
        if (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8)) return MediaFormat.WebP;
        if (head.StartsWith("GIF87a"u8) || head.StartsWith("GIF89a"u8)) return MediaFormat.Gif;
        if (head.StartsWith("BM"u8) && head.Length >= 14) return MediaFormat.Bmp;
        if (head.StartsWith("II*\0"u8) || head.StartsWith("MM\0*"u8)) return MediaFormat.Tiff;
        if (head.Length >= 12 && head[4..8].SequenceEqual("ftyp"u8))
        {
            var brand = head[8..12];
            if (brand.SequenceEqual("avif"u8) || brand.SequenceEqual("avis"u8)) return MediaFormat.Avif;
            if (brand.SequenceEqual("heic"u8) || brand.SequenceEqual("heix"u8) || brand.SequenceEqual("mif1"u8) || brand.SequenceEqual("msf1"u8)) return MediaFormat.Heif;
            return MediaFormat.Mp4; // M4A, MP4, MOV (isom, mp42, M4A , qt  …): audio or video
        }
        if (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WAVE"u8)) return MediaFormat.Wav;
        if (head.Length >= 12 && head.StartsWith("FORM"u8) && (head[8..12].SequenceEqual("AIFF"u8) || head[8..12].SequenceEqual("AIFC"u8))) return MediaFormat.Aiff;
        if (head.StartsWith("fLaC"u8)) return MediaFormat.Flac;
        if (head.StartsWith("OggS"u8)) return MediaFormat.Ogg;
        if (head.StartsWith((ReadOnlySpan<byte>)[0x1A, 0x45, 0xDF, 0xA3])) return MediaFormat.Matroska;
        if (head.StartsWith("ID3"u8) || head.Length >= 2 && head[0] == 0xFF && (head[1] & 0xE6) is 0xE2 or 0xE4 or 0xE6) return MediaFormat.Mp3;
        return MediaFormat.Unknown;
    }

    /// <summary>Whether the format carries audio (or video with an audio track) rather than a still image.</summary>
    public static bool IsAudio(this MediaFormat format) => format is MediaFormat.Wav or MediaFormat.Mp3 or MediaFormat.Flac
        or MediaFormat.Ogg or MediaFormat.Mp4 or MediaFormat.Matroska or MediaFormat.Aiff;

    /// <summary>Lower-case name used in output, e.g. <c>jpeg</c>.</summary>
    public static string Name(this MediaFormat format) => format.ToString().ToLowerInvariant();
}
