using System.Buffers;
using Media.Codecs.Native;

namespace Media.Codecs;

/// <summary>
/// Decodes still images to 8-bit RGB in process through the system's libraries — JPEG via TurboJPEG,
/// PNG via libspng, WebP via libwebp — and other formats ffmpeg reads (GIF first frame, BMP, TIFF, AVIF/HEIF
/// where the build supports them) through the ffmpeg CLI with a timeout. The format is sniffed from the bytes.
/// JPEG EXIF orientation is applied. Grayscale, CMYK (Adobe-inverted, as Pillow reads it), palette and 16-bit
/// inputs become RGB; alpha is composited over white (<see cref="Background"/>). Thread-safe.
/// For any input bytes a decode returns an image or throws <see cref="MediaRejectedException"/>: header dimensions are checked
/// against <see cref="DecodeLimits.MaxPixels"/> and every buffer size derived from them is bounds-checked before allocation.
/// </summary>
public sealed class ImageDecoder(DecodeLimits? limits = null)
{
    /// <summary>The background transparent pixels are composited on: white, as most viewers show them.</summary>
    public const byte Background = 255;

    public DecodeLimits Limits { get; } = limits ?? DecodeLimits.Default;

    /// <summary>Decodes <paramref name="data"/>.</summary>
    /// <exception cref="MediaRejectedException">Empty, unrecognised, corrupt, truncated or over a limit; the message is the reason.</exception>
    public DecodedImage Decode(ReadOnlySpan<byte> data, DecodeOptions? options = null)
    {
        options ??= DecodeOptions.FullResolution;
        if (data.Length == 0) throw new MediaRejectedException("empty file (0 bytes)");
        if (data.Length > Limits.MaxEncodedBytes) throw new MediaRejectedException($"file is {data.Length} bytes, over the {Limits.MaxEncodedBytes}-byte limit");
        var format = FormatSniffer.Sniff(data[..Math.Min(data.Length, 32)]);
        return format switch
        {
            MediaFormat.Jpeg => DecodeJpeg(data, options),
            MediaFormat.Png => DecodePng(data),
            MediaFormat.WebP => DecodeWebP(data),
            MediaFormat.Unknown => throw new MediaRejectedException("unrecognised format (not an image this service reads)"),
            _ => FfmpegImageDecoder.Decode(data, format, Limits),
        };
    }

    /// <summary>
    /// Reads only the header of a JPEG, PNG or WebP (no pixel buffer is allocated) and checks its declared size against
    /// <see cref="Limits"/>, so a decompression bomb is refused before anything decodes it: for an upload that must be
    /// answered at once. Other formats (decoded out of process, under the same limits and a timeout) return null.
    /// </summary>
    /// <returns>The format and the declared width and height in pixels (before EXIF orientation), or null for a format read by ffmpeg.</returns>
    /// <exception cref="MediaRejectedException">Empty, over <see cref="DecodeLimits.MaxEncodedBytes"/>, unrecognised, a corrupt header, or a declared size over <see cref="DecodeLimits.MaxPixels"/>; the message is the reason.</exception>
    public unsafe (MediaFormat Format, int Width, int Height)? ReadHeader(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0) throw new MediaRejectedException("empty file (0 bytes)");
        if (data.Length > Limits.MaxEncodedBytes) throw new MediaRejectedException($"file is {data.Length} bytes, over the {Limits.MaxEncodedBytes}-byte limit");
        var format = FormatSniffer.Sniff(data[..Math.Min(data.Length, 32)]);
        fixed (byte* src = data)
        {
            switch (format)
            {
                case MediaFormat.Jpeg:
                {
                    using var tj = SafeTurboJpegHandle.Create();
                    if (TurboJpeg.tjDecompressHeader3(tj, src, (nuint)data.Length, out var w, out var h, out _, out _) != 0)
                        throw new MediaRejectedException($"corrupt JPEG: {TurboJpeg.LastError(tj)}");
                    CheckPixels(w, h, "JPEG header");
                    return (format, w, h);
                }
                case MediaFormat.Png:
                {
                    using var ctx = SafeSpngContext.Create();
                    if (Spng.spng_set_png_buffer(ctx, src, (nuint)data.Length) is var rc && rc != 0 || (rc = Spng.spng_get_ihdr(ctx, out var ihdr)) != 0)
                        throw new MediaRejectedException($"corrupt PNG: {Spng.Error(rc)}");
                    CheckPixels(ihdr.Width, ihdr.Height, "PNG header");
                    return (format, (int)ihdr.Width, (int)ihdr.Height);
                }
                case MediaFormat.WebP:
                {
                    var status = WebP.GetFeatures(src, (nuint)data.Length, out var features);
                    if (status != 0) throw new MediaRejectedException($"corrupt WebP: {WebP.Status(status)}");
                    CheckPixels(features.Width, features.Height, "WebP header");
                    return (format, features.Width, features.Height);
                }
                case MediaFormat.Unknown:
                    throw new MediaRejectedException("unrecognised format (not an image this service reads)");
                default:
                    return null;
            }
        }
    }

    void CheckPixels(long width, long height, string what)
    {
        if (width <= 0 || height <= 0) throw new MediaRejectedException($"{what} declares an empty image ({width}×{height})");
        if (width * height > Limits.MaxPixels)
            throw new MediaRejectedException($"{what} declares {width}×{height} = {width * height} pixels, over the {Limits.MaxPixels}-pixel limit (decompression bomb?)");
    }

    /// <summary>Bytes of a <paramref name="width"/>×<paramref name="height"/> buffer of <paramref name="channels"/> bytes a pixel, refused
    /// when over what one array can hold (possible only when <see cref="DecodeLimits.MaxPixels"/> is raised above its default).</summary>
    internal static int BufferLength(long width, long height, int channels, string what)
    {
        var bytes = width * height * channels;
        if (width <= 0 || height <= 0 || bytes > Array.MaxLength)
            throw new MediaRejectedException($"{what} of {width}×{height} pixels needs {width * height * channels} bytes, more than one buffer can hold");
        return (int)bytes;
    }

    unsafe DecodedImage DecodeJpeg(ReadOnlySpan<byte> data, DecodeOptions options)
    {
        using var tj = SafeTurboJpegHandle.Create();
        fixed (byte* src = data)
        {
            if (TurboJpeg.tjDecompressHeader3(tj, src, (nuint)data.Length, out var width, out var height, out _, out var colorspace) != 0)
                throw new MediaRejectedException($"corrupt JPEG: {TurboJpeg.LastError(tj)}");
            CheckPixels(width, height, "JPEG header");

            var scale = ChooseScale(width, height, options.MinShortSide);
            int w = TurboJpeg.Scaled(width, scale), h = TurboJpeg.Scaled(height, scale);
            var cmyk = colorspace is TurboJpeg.ColorspaceCmyk or TurboJpeg.ColorspaceYcck;
            var channels = cmyk ? 4 : 3;
            var buffer = new byte[BufferLength(w, h, channels, "JPEG")];
            fixed (byte* dst = buffer)
            {
                var rc = TurboJpeg.tjDecompress2(tj, src, (nuint)data.Length, dst, w, w * channels, h,
                    cmyk ? TurboJpeg.PixelFormatCmyk : TurboJpeg.PixelFormatRgb, TurboJpeg.FlagLimitScans);
                if (rc != 0)
                {
                    var message = TurboJpeg.LastError(tj);
                    // Warnings leave a usable image, except a premature end: the file is truncated.
                    if (TurboJpeg.tjGetErrorCode(tj) != TurboJpeg.ErrorWarning || message.Contains("Premature end", StringComparison.OrdinalIgnoreCase))
                        throw new MediaRejectedException($"corrupt JPEG: {message}");
                }
            }
            var rgb = cmyk ? CmykToRgb(buffer, w, h) : new RgbImage(w, h, buffer);
            var orientation = ExifOrientation.ReadJpeg(data);
            var upright = ExifOrientation.Apply(rgb, orientation);
            var swap = orientation >= 5;
            return new DecodedImage(upright, MediaFormat.Jpeg, swap ? height : width, swap ? width : height, rgb, orientation);
        }
    }

    /// <summary>The smallest TurboJPEG scaling factor whose output keeps the shortest side at least <paramref name="minShortSide"/>.</summary>
    static unsafe TurboJpeg.ScalingFactor ChooseScale(int width, int height, int minShortSide)
    {
        var best = new TurboJpeg.ScalingFactor { Num = 1, Denom = 1 };
        if (minShortSide <= 0) return best;
        var factors = TurboJpeg.tjGetScalingFactors(out var count);
        for (var i = 0; i < count; i++)
        {
            var f = factors[i];
            if (f.Num > f.Denom) continue; // never upscale
            if (Math.Min(TurboJpeg.Scaled(width, f), TurboJpeg.Scaled(height, f)) < minShortSide) continue;
            if ((long)f.Num * best.Denom < (long)best.Num * f.Denom) best = f;
        }
        return best;
    }

    /// <summary>Adobe CMYK JPEGs store inverted ink values; R = C·K/255 etc. on the stored values (as Pillow and browsers do).</summary>
    static RgbImage CmykToRgb(byte[] cmyk, int w, int h)
    {
        var rgb = new byte[BufferLength(w, h, 3, "JPEG")];
        for (int i = 0, o = 0; o < rgb.Length; i += 4, o += 3)
        {
            var k = cmyk[i + 3];
            rgb[o] = (byte)((cmyk[i] * k + 127) / 255);
            rgb[o + 1] = (byte)((cmyk[i + 1] * k + 127) / 255);
            rgb[o + 2] = (byte)((cmyk[i + 2] * k + 127) / 255);
        }
        return new RgbImage(w, h, rgb);
    }

    unsafe DecodedImage DecodePng(ReadOnlySpan<byte> data)
    {
        using var ctx = SafeSpngContext.Create();
        fixed (byte* src = data)
        {
            Check(Spng.spng_set_png_buffer(ctx, src, (nuint)data.Length));
            Check(Spng.spng_set_chunk_limits(ctx, 16u << 20, 64u << 20));
            Check(Spng.spng_get_ihdr(ctx, out var ihdr));
            CheckPixels(ihdr.Width, ihdr.Height, "PNG header");
            Check(Spng.spng_set_image_limits(ctx, ihdr.Width, ihdr.Height));

            var trns = stackalloc byte[512];
            var alpha = ihdr.ColorType is 4 or 6 || Spng.spng_get_trns(ctx, trns) == 0;
            var fmt = alpha ? Spng.FormatRgba8 : Spng.FormatRgb8;
            Check(Spng.spng_decoded_image_size(ctx, fmt, out var size));
            int w = (int)ihdr.Width, h = (int)ihdr.Height; // CheckPixels bounds both by MaxPixels
            var expected = BufferLength(w, h, alpha ? 4 : 3, "PNG");
            if (size != (nuint)expected) throw new MediaRejectedException($"corrupt PNG: libspng sizes the {w}×{h} image at {size} bytes, not {expected}");
            var buffer = new byte[expected];
            fixed (byte* dst = buffer) Check(Spng.spng_decode_image(ctx, dst, size, fmt, alpha ? Spng.DecodeTrns : 0));
            var image = alpha ? CompositeRgba(buffer, w, h) : new RgbImage(w, h, buffer);
            return new DecodedImage(image, MediaFormat.Png, w, h);
        }

        static void Check(int rc)
        {
            if (rc != 0) throw new MediaRejectedException($"corrupt PNG: {Spng.Error(rc)}");
        }
    }

    unsafe DecodedImage DecodeWebP(ReadOnlySpan<byte> data)
    {
        fixed (byte* src = data)
        {
            var status = WebP.GetFeatures(src, (nuint)data.Length, out var features);
            if (status != 0) throw new MediaRejectedException($"corrupt WebP: {WebP.Status(status)}");
            if (features.HasAnimation != 0) throw new MediaRejectedException("animated WebP is not supported");
            CheckPixels(features.Width, features.Height, "WebP header");
            int w = features.Width, h = features.Height;
            var alpha = features.HasAlpha != 0;
            var channels = alpha ? 4 : 3;
            var buffer = new byte[BufferLength(w, h, channels, "WebP")];
            fixed (byte* dst = buffer)
            {
                var result = alpha
                    ? WebP.WebPDecodeRGBAInto(src, (nuint)data.Length, dst, (nuint)buffer.Length, w * 4)
                    : WebP.WebPDecodeRGBInto(src, (nuint)data.Length, dst, (nuint)buffer.Length, w * 3);
                if (result == null) throw new MediaRejectedException("corrupt WebP: the bitstream failed to decode (truncated or damaged)");
            }
            return new DecodedImage(alpha ? CompositeRgba(buffer, w, h) : new RgbImage(w, h, buffer), MediaFormat.WebP, w, h);
        }
    }

    /// <summary>Composites straight (non-premultiplied) RGBA over the white background.</summary>
    internal static RgbImage CompositeRgba(ReadOnlySpan<byte> rgba, int w, int h)
    {
        var rgb = new byte[BufferLength(w, h, 3, "image")];
        if (rgba.Length / 4 < rgb.Length / 3) throw new MediaRejectedException($"image of {w}×{h} pixels has only {rgba.Length} RGBA bytes");
        for (int i = 0, o = 0; o < rgb.Length; i += 4, o += 3)
        {
            int a = rgba[i + 3], bg = Background * (255 - a);
            rgb[o] = (byte)((rgba[i] * a + bg + 127) / 255);
            rgb[o + 1] = (byte)((rgba[i + 1] * a + bg + 127) / 255);
            rgb[o + 2] = (byte)((rgba[i + 2] * a + bg + 127) / 255);
        }
        return new RgbImage(w, h, rgb);
    }
}
