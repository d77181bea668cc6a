using System.Numerics;
using Media.Codecs;
using Media.Codecs.Audio;
using Media.Hashing.Native;

namespace Media.Hashing;

/// <summary>
/// Chromaprint raw fingerprints (AcoustID's algorithm; one 32-bit item per ≈ 0.124 s of audio, computed from 11025 Hz
/// chroma features) and their comparison by bit error rate at the best alignment, so that a clip matches its transcodes
/// (MP3, Ogg, resampled, quieter) and trimmed copies.
/// </summary>
public static class AudioFingerprint
{
    /// <summary>Seconds of audio per fingerprint item (libchromaprint's item duration, ≈ 0.1238 s).</summary>
    public const double ItemSeconds = 0.1238;
    /// <summary>The rate Chromaprint works at internally; it accepts any input rate and resamples to this itself.</summary>
    public const int SampleRate = 11025;

    /// <summary>The raw fingerprint of mono samples at any rate; empty for audio shorter than about three seconds.</summary>
    public static unsafe uint[] Compute(AudioClip clip)
    {
        using var ctx = SafeChromaprintContext.Create();
        if (Chromaprint.chromaprint_start(ctx, clip.SampleRate, 1) != 1) throw new MediaRejectedException("chromaprint could not start");
        var pcm = new short[Math.Min(clip.Samples.Length, 1 << 16)];
        for (var start = 0; start < clip.Samples.Length; start += pcm.Length)
        {
            var n = Math.Min(pcm.Length, clip.Samples.Length - start);
            for (var i = 0; i < n; i++) pcm[i] = (short)Math.Clamp(clip.Samples[start + i] * 32767f, short.MinValue, short.MaxValue);
            fixed (short* p = pcm)
                if (Chromaprint.chromaprint_feed(ctx, p, n) != 1) throw new MediaRejectedException("chromaprint could not process the audio");
        }
        if (Chromaprint.chromaprint_finish(ctx) != 1) throw new MediaRejectedException("chromaprint could not finish");
        if (Chromaprint.chromaprint_get_raw_fingerprint(ctx, out var fp, out var size) != 1) return [];
        try
        {
            return new ReadOnlySpan<uint>(fp, size).ToArray();
        }
        finally
        {
            Chromaprint.chromaprint_dealloc(fp);
        }
    }

    /// <summary>The compressed, URL-safe base64 form AcoustID and <c>fpcalc</c> exchange (chromaprint_encode_fingerprint).</summary>
    public static unsafe string Encode(uint[] raw)
    {
        if (raw.Length == 0) return "";
        fixed (uint* p = raw)
        {
            if (Chromaprint.chromaprint_encode_fingerprint(p, raw.Length, Chromaprint.AlgorithmDefault, out var encoded, out var size, 1) != 1)
                throw new InvalidOperationException("chromaprint_encode_fingerprint failed");
            try { return System.Text.Encoding.ASCII.GetString(encoded, size); }
            finally { Chromaprint.chromaprint_dealloc(encoded); }
        }
    }
}

/// <summary>The audio near-duplicate rule's default.</summary>
public static class AudioNearDuplicate
{
    /// <summary>Similarity (1 − bit error rate) at or above which two fingerprints are near-duplicates. See README "Audio".</summary>
    public const double DefaultMinSimilarity = 0.80;
}
