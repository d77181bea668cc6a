using System.Numerics;

namespace Media.Index;

/// <summary>
/// Distance between Chromaprint raw fingerprints (one 32-bit item per ≈ 0.124 s): the bit error rate at the best
/// alignment, so that a clip matches its transcodes and trimmed copies (AcoustID's comparison).
/// </summary>
public static class FingerprintComparison
{
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
