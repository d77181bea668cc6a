using Media.Codecs;

namespace Media.Hashing;

/// <summary>
/// How images are decoded for PDQ. PDQ hashes the pixels as stored (<see cref="DecodedImage.Stored"/>), before EXIF
/// orientation, exactly as the reference hasher does (it ignores EXIF), so hashes can be exchanged with other systems;
/// an upright copy of a sideways-stored photo still matches through the dihedral hashes.
/// </summary>
public static class PdqImage
{
    /// <summary>
    /// Full resolution. The reference hasher nearest-samples the full-resolution pixels down to 512×512, and
    /// only the same pixels reproduce its hashes bit for bit: measured on ../shared/pdq, full-resolution decoding
    /// gives 27 of 27 hashes identical to the reference, while TurboJPEG's 5/8 DCT-scaled decode (≥ 512 on the
    /// shortest side, about 2.5× less decode work) gives 16 of 27 identical and the rest within 4 bits.
    /// Exchangeable hashes are worth the decode time.
    /// </summary>
    public static DecodeOptions DecodeOptions { get; } = DecodeOptions.FullResolution;
}
