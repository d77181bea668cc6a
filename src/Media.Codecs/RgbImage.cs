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
/// <param name="Image">The pixels, upright (EXIF orientation applied), possibly decoded at a reduced scale (see <see cref="DecodeOptions.MinShortSide"/>).</param>
/// <param name="Format">The sniffed container format.</param>
/// <param name="Width">Full-resolution width after EXIF orientation, pixels.</param>
/// <param name="Height">Full-resolution height after EXIF orientation, pixels.</param>
/// <param name="Stored">The pixels as stored in the file, before EXIF orientation (the same object as <paramref name="Image"/> when the orientation is 1).</param>
/// <param name="Orientation">The EXIF orientation that was applied, 1–8.</param>
public sealed record DecodedImage(RgbImage Image, MediaFormat Format, int Width, int Height, RgbImage Stored, int Orientation = 1)
{
    public DecodedImage(RgbImage image, MediaFormat format, int width, int height) : this(image, format, width, height, image) { }
}
