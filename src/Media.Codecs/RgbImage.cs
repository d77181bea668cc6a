namespace Media.Codecs;

/// <summary>
/// A decoded image: 8-bit RGB, interleaved, row-major, no padding (<c>Pixels.Length == Width·Height·3</c>).
/// </summary>
/// <param name="Width">Pixels per row after EXIF orientation and any decode-time scaling.</param>
/// <param name="Height">Rows.</param>
/// <param name="Pixels">RGB bytes.</param>
public sealed record RgbImage(int Width, int Height, byte[] Pixels)
{
    /// <summary>Bytes per row.</summary>
    public int Stride => Width * 3;
}

/// <summary>A decoded image with what is known of its source.</summary>
/// <param name="Image">The pixels, possibly decoded at a reduced scale (see <see cref="DecodeOptions.MinShortSide"/>).</param>
/// <param name="Format">The sniffed container format.</param>
/// <param name="Width">Full-resolution width after EXIF orientation, pixels.</param>
/// <param name="Height">Full-resolution height after EXIF orientation, pixels.</param>
public sealed record DecodedImage(RgbImage Image, MediaFormat Format, int Width, int Height);
