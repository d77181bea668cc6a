using System.Buffers.Binary;

namespace Media.Codecs;

/// <summary>
/// Reads the EXIF Orientation tag (0x0112) of a JPEG (APP1 "Exif" segment, TIFF 6.0 / EXIF 2.3 layout)
/// and applies it to decoded pixels. Values 1–8 as in the EXIF specification; anything else reads as 1.
/// </summary>
public static class ExifOrientation
{
    /// <summary>The orientation of a JPEG, 1 (upright) when absent or unreadable.</summary>
    public static int ReadJpeg(ReadOnlySpan<byte> jpeg)
    {
        var pos = 2; // after SOI
        while (pos + 4 <= jpeg.Length)
        {
            if (jpeg[pos] != 0xFF) return 1;
            var marker = jpeg[pos + 1];
            if (marker == 0xFF) { pos++; continue; }                 // fill byte
            if (marker is 0xDA or 0xD9) return 1;                     // start of scan / end of image: no EXIF before pixels
            var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(pos + 2)..]);
            if (length < 2 || pos + 2 + length > jpeg.Length) return 1;
            var segment = jpeg.Slice(pos + 4, length - 2);
            if (marker == 0xE1 && segment.StartsWith("Exif\0\0"u8))
                return ReadTiff(segment[6..]);
            pos += 2 + length;
        }
        return 1;
    }

    static int ReadTiff(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8) return 1;
        bool little;
        if (tiff.StartsWith("II"u8)) little = true;
        else if (tiff.StartsWith("MM"u8)) little = false;
        else return 1;
        var ifd = U32(tiff, 4, little);
        if (ifd > (uint)tiff.Length - 2) return 1;
        var count = U16(tiff, (int)ifd, little);
        for (var i = 0; i < count; i++)
        {
            var entry = (int)ifd + 2 + i * 12;
            if (entry + 12 > tiff.Length) return 1;
            if (U16(tiff, entry, little) == 0x0112)
            {
                var value = U16(tiff, entry + 8, little); // SHORT, stored left-justified in the value field
                return value is >= 1 and <= 8 ? value : 1;
            }
        }
        return 1;
    }

    static ushort U16(ReadOnlySpan<byte> b, int at, bool little) => little ? BinaryPrimitives.ReadUInt16LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt16BigEndian(b[at..]);
    static uint U32(ReadOnlySpan<byte> b, int at, bool little) => little ? BinaryPrimitives.ReadUInt32LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt32BigEndian(b[at..]);

    /// <summary>Returns <paramref name="image"/> transformed so that it displays upright for EXIF orientation 1–8.</summary>
    public static RgbImage Apply(RgbImage image, int orientation)
    {
        if (orientation is < 2 or > 8) return image;
        int w = image.Width, h = image.Height;
        var transpose = orientation >= 5;
        int ow = transpose ? h : w, oh = transpose ? w : h;
        var src = image.Pixels;
        var dst = new byte[src.Length];
        for (var y = 0; y < oh; y++)
        {
            for (var x = 0; x < ow; x++)
            {
                // (x, y) in the output comes from (sx, sy) in the stored image.
                var (sx, sy) = orientation switch
                {
                    2 => (w - 1 - x, y),           // mirror horizontal
                    3 => (w - 1 - x, h - 1 - y),   // rotate 180
                    4 => (x, h - 1 - y),           // mirror vertical
                    5 => (y, x),                   // transpose
                    6 => (y, h - 1 - x),           // rotate 90 CW
                    7 => (w - 1 - y, h - 1 - x),   // transverse
                    _ => (w - 1 - y, x),           // 8: rotate 270 CW
                };
                var s = (sy * w + sx) * 3;
                var d = (y * ow + x) * 3;
                dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2];
            }
        }
        return new RgbImage(ow, oh, dst);
    }
}
