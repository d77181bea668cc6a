using Media.Codecs.Native;

namespace Media.Codecs;

/// <summary>Small previews of decoded images: an area-average downscale and a lossy WebP encoding through libwebp.</summary>
public static class Thumbnail
{
    /// <summary>
    /// Scales <paramref name="image"/> so that its longer side is at most <paramref name="maxSide"/> pixels, keeping the
    /// aspect ratio (each side at least 1 pixel); each output pixel is the mean of the source pixels it covers (box filter,
    /// exact fractional coverage). An image already small enough is returned as it is (never upscaled).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSide"/> is below 1.</exception>
    public static RgbImage Fit(RgbImage image, int maxSide)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSide, 1);
        var longer = Math.Max(image.Width, image.Height);
        if (longer <= maxSide) return image;
        var scale = (double)maxSide / longer;
        var w = Math.Max(1, (int)Math.Round(image.Width * scale));
        var h = Math.Max(1, (int)Math.Round(image.Height * scale));
        var xs = Spans(image.Width, w);
        var ys = Spans(image.Height, h);
        var src = image.Pixels;
        var dst = new byte[w * h * 3];
        var row = new double[w * 3];
        for (var oy = 0; oy < h; oy++)
        {
            Array.Clear(row);
            var (y0, y1) = ys[oy];
            for (var sy = (int)y0; sy < Math.Ceiling(y1); sy++)
            {
                var wy = Math.Min(y1, sy + 1) - Math.Max(y0, sy);
                var line = sy * image.Stride;
                for (var ox = 0; ox < w; ox++)
                {
                    var (x0, x1) = xs[ox];
                    double r = 0, g = 0, b = 0;
                    for (var sx = (int)x0; sx < Math.Ceiling(x1); sx++)
                    {
                        var wx = Math.Min(x1, sx + 1) - Math.Max(x0, sx);
                        var p = line + sx * 3;
                        r += wx * src[p];
                        g += wx * src[p + 1];
                        b += wx * src[p + 2];
                    }
                    row[ox * 3] += wy * r;
                    row[ox * 3 + 1] += wy * g;
                    row[ox * 3 + 2] += wy * b;
                }
            }
            for (var i = 0; i < row.Length; i++)
            {
                var area = (xs[i / 3].End - xs[i / 3].Start) * (y1 - y0);
                dst[oy * w * 3 + i] = (byte)Math.Clamp(Math.Round(row[i] / area), 0, 255);
            }
        }
        return new RgbImage(w, h, dst);

        static (double Start, double End)[] Spans(int from, int to)
        {
            var step = (double)from / to;
            return [.. Enumerable.Range(0, to).Select(i => (i * step, Math.Min(from, (i + 1) * step)))];
        }
    }

    /// <summary>Encodes <paramref name="image"/> as lossy WebP (libwebp's <c>WebPEncodeRGB</c>) at <paramref name="quality"/> 0–100.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="quality"/> outside 0–100.</exception>
    /// <exception cref="MediaRejectedException">libwebp could not encode it (e.g. a side over 16383 pixels).</exception>
    public static unsafe byte[] EncodeWebP(RgbImage image, float quality = 80)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quality, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quality, 100);
        byte* output = null;
        try
        {
            nuint size;
            fixed (byte* rgb = image.Pixels) size = WebP.WebPEncodeRGB(rgb, image.Width, image.Height, image.Stride, quality, out output);
            if (size == 0 || output == null) throw new MediaRejectedException($"libwebp could not encode a {image.Width}×{image.Height} image");
            return new ReadOnlySpan<byte>(output, checked((int)size)).ToArray();
        }
        finally
        {
            if (output != null) WebP.WebPFree(output);
        }
    }
}
