using System.Numerics;
using Media.Codecs.Native;

namespace Media.Codecs.Audio;

/// <summary>The best alignment of two fingerprints: similarity = 1 − bit error rate over the overlap.</summary>
/// <param name="Similarity">1 − (differing bits / compared bits), in [0, 1]; unrelated audio scores about 0.5.</param>
/// <param name="Offset">Items by which the second fingerprint is shifted (one item ≈ 0.124 s).</param>
/// <param name="Overlap">Items compared.</param>
public readonly record struct FingerprintMatch(double Similarity, int Offset, int Overlap);

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

    /// <summary>
    /// Compares <paramref name="a"/> with <paramref name="b"/> shifted by every offset in ±<paramref name="maxOffset"/> items
    /// (±15 s) whose overlap is at least <paramref name="minOverlap"/> items (3 s), or 80% of the shorter fingerprint when
    /// that is shorter, but never under 4 items (128 bits: unrelated audio reaches 0.8 similarity there about 7 standard
    /// deviations from its mean of 0.5). Clips under about 3 s have fewer items and cannot be matched. Returns the alignment
    /// with the lowest bit error rate.
    /// </summary>
    public static FingerprintMatch Compare(ReadOnlySpan<uint> a, ReadOnlySpan<uint> b, int maxOffset = 120, int minOverlap = 24)
    {
        minOverlap = Math.Max(4, Math.Min(minOverlap, (int)Math.Ceiling(0.8 * Math.Min(a.Length, b.Length))));
        var best = new FingerprintMatch(0, 0, 0);
        for (var offset = -maxOffset; offset <= maxOffset; offset++)
        {
            var m = At(a, b, offset, minOverlap);
            if (m.Overlap > 0 && m.Similarity > best.Similarity) best = m;
        }
        return best;
    }

    /// <summary>The similarity at one offset: b[i] is compared with a[i + offset].</summary>
    public static FingerprintMatch At(ReadOnlySpan<uint> a, ReadOnlySpan<uint> b, int offset, int minOverlap = 24)
    {
        var start = Math.Max(0, -offset);
        var end = Math.Min(b.Length, a.Length - offset);
        var overlap = end - start;
        if (overlap < minOverlap || overlap <= 0) return new FingerprintMatch(0, offset, 0);
        long errors = 0;
        for (var i = start; i < end; i++) errors += BitOperations.PopCount(a[i + offset] ^ b[i]);
        return new FingerprintMatch(1.0 - errors / (32.0 * overlap), offset, overlap);
    }
}

/// <summary>The audio near-duplicate rule's default.</summary>
public static class AudioNearDuplicate
{
    /// <summary>Similarity (1 − bit error rate) at or above which two fingerprints are near-duplicates. See README "Audio".</summary>
    public const double DefaultMinSimilarity = 0.80;
}
