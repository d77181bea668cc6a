namespace Media.Codecs.Audio;

/// <summary>Decoded audio: mono float32 samples in [−1, 1] at <see cref="SampleRate"/> Hz.</summary>
/// <param name="Samples">Mono samples (channels averaged).</param>
/// <param name="SampleRate">Samples per second.</param>
/// <param name="Format">The sniffed container format.</param>
public sealed record AudioClip(float[] Samples, int SampleRate, MediaFormat Format)
{
    /// <summary>Length in seconds.</summary>
    public double DurationSeconds => (double)Samples.Length / SampleRate;
}

/// <summary>Limits for audio decoding; a violation rejects the item with a reason.</summary>
public sealed record AudioLimits
{
    /// <summary>Longest audio accepted, seconds (default 15 minutes).</summary>
    public double MaxDurationSeconds { get; init; } = 900;
    /// <summary>Wall-clock limit for an ffmpeg decode (default 60 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
    public long MaxEncodedBytes { get; init; } = 500L << 20;

    public static AudioLimits Default { get; } = new();
}
