namespace Media.Codecs;

/// <summary>Limits that protect a decoder from hostile input. A violation rejects the item with a reason.</summary>
public sealed record DecodeLimits
{
    /// <summary>Largest encoded input accepted, bytes (default 100 MiB).</summary>
    public long MaxEncodedBytes { get; init; } = 100L << 20;
    /// <summary>Largest declared width × height accepted, checked from the header before any pixel buffer is allocated (default 100 megapixels).</summary>
    public long MaxPixels { get; init; } = 100_000_000;
    /// <summary>Wall-clock limit for an out-of-process decode (ffmpeg), after which it is killed (default 15 s).
    /// In-process decoders are bounded by <see cref="MaxEncodedBytes"/> and <see cref="MaxPixels"/> (and TurboJPEG's scan limit).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(15);

    public static DecodeLimits Default { get; } = new();
}

/// <summary>What a caller needs from a decode.</summary>
public sealed record DecodeOptions
{
    /// <summary>
    /// Smallest acceptable shortest side after decode-time scaling, pixels; 0 decodes at full resolution.
    /// JPEG uses TurboJPEG's DCT scaling factors (1/8 … 1) to decode near this size, which is much faster for large photos.
    /// </summary>
    public int MinShortSide { get; init; }

    public static DecodeOptions FullResolution { get; } = new();
}

/// <summary>An input was rejected: corrupt, unsupported or over a limit. <see cref="Exception.Message"/> is the reason.</summary>
public sealed class MediaRejectedException(string reason, Exception? inner = null) : Exception(reason, inner);
