using System.Security.Cryptography;
using Media.Catalog;
using Media.Codecs;
using Media.Codecs.Audio;

namespace Media.Application;

/// <summary>A thumbnail could not be made for a catalogued item (its bytes are gone or changed, or they no longer decode); the message says why.</summary>
public sealed class ThumbnailUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Thumbnails of catalogued items, decoded by our own codecs: the item's bytes are read from its catalogued path or from
/// the API's <see cref="UploadStore"/>, checked against its id (SHA-256; bytes that changed since they were catalogued are
/// not shown as the item), decoded under the decoders' limits (<see cref="ImageDecoder"/>, at a reduced JPEG scale when
/// possible), fitted into <c>size</c>×<c>size</c> and encoded as WebP. Audio items get a waveform picture (peak
/// amplitude per column). Thread-safe.
/// </summary>
public sealed class Thumbnails(IMediaCatalog catalog, UploadStore uploads, ImageDecoder? decoder = null)
{
    readonly ImageDecoder _decoder = decoder ?? new ImageDecoder();

    /// <summary>Smallest and largest thumbnail side, pixels.</summary>
    public const int MinSize = 16, MaxSize = 1024;

    /// <summary>The WebP thumbnail of item <paramref name="id"/>, at most <paramref name="size"/> pixels on its longer side; null when the id is not catalogued.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> outside <see cref="MinSize"/>–<see cref="MaxSize"/>.</exception>
    /// <exception cref="ThumbnailUnavailableException">The item's bytes cannot be found, changed, or fail to decode.</exception>
    public byte[]? WebP(string id, int size = 256)
    {
        if (size is < MinSize or > MaxSize) throw new ArgumentOutOfRangeException(nameof(size), size, $"size must be {MinSize}–{MaxSize}");
        if (catalog.Find(id) is not { } item) return null;
        var bytes = BytesOf(item) ?? throw new ThumbnailUnavailableException($"the bytes of {id} are no longer at {item.Path} nor among the uploads");
        try
        {
            var image = item.Modality == "audio"
                ? Waveform(new AudioDecoder().Decode(bytes, 8000).Samples, size, size / 2)
                : Thumbnail.Fit(_decoder.Decode(bytes, new DecodeOptions { MinShortSide = size }).Image, size);
            return Thumbnail.EncodeWebP(image, 80);
        }
        catch (MediaRejectedException ex)
        {
            throw new ThumbnailUnavailableException($"cannot decode {id}: {ex.Message}", ex);
        }
    }

    byte[]? BytesOf(CatalogItem item)
    {
        var reader = new SourceReader(_decoder.Limits);
        foreach (var path in new[] { item.Path, uploads.Find(item.Id) })
        {
            if (path is null || !File.Exists(path)) continue;
            try
            {
                var bytes = reader.ReadFile(path);
                if (Convert.ToHexStringLower(SHA256.HashData(bytes)) == item.Id) return bytes;
            }
            catch (MediaRejectedException)
            {
                // unreadable now: try the next place
            }
        }
        return null;
    }

    /// <summary>A dark waveform on white: per column the peak absolute amplitude of its slice of samples, drawn symmetric about the middle.</summary>
    static RgbImage Waveform(float[] samples, int width, int height)
    {
        var pixels = new byte[width * height * 3];
        Array.Fill(pixels, (byte)255);
        var peak = samples.Length == 0 ? 0 : samples.Max(Math.Abs);
        for (var x = 0; x < width; x++)
        {
            int from = (int)((long)samples.Length * x / width), to = (int)((long)samples.Length * (x + 1) / width);
            var a = 0f;
            for (var i = from; i < to; i++) a = Math.Max(a, Math.Abs(samples[i]));
            var half = peak > 0 ? (int)Math.Round(a / peak * (height / 2 - 1)) : 0;
            for (var y = height / 2 - half; y <= height / 2 + half; y++)
            {
                var p = (y * width + x) * 3;
                pixels[p] = 40; pixels[p + 1] = 70; pixels[p + 2] = 140;
            }
        }
        return new RgbImage(width, height, pixels);
    }
}
