using System.Numerics.Tensors;
using Media.Codecs;

namespace Media.Hashing;

/// <summary>
/// PDQ perceptual hash, implemented from Facebook/Meta ThreatExchange's published algorithm
/// ("The PDQ and TMK+PDQF hashing algorithms", pdqhash-2017-10-09.pdf, and the reference hasher's
/// pdqhashing.cpp / pdqio.cpp): images larger than 512 pixels on a side are first resampled to 512×512 by
/// nearest neighbour (as the reference's CImg <c>resize(512,512)</c>); luminance Y = 0.299R + 0.587G + 0.114B;
/// two passes of Jarosz 1-D box filters along rows and columns (window ⌈dimension/128⌉); decimation to 64×64;
/// the image-domain quality metric; the 16×16 low-frequency block of the 64×64 DCT-II (excluding DC);
/// and one bit per coefficient: greater than the median. Dihedral hashes come from sign and transpose
/// symmetries of the DCT block. Arithmetic is float32 in the reference's order, so results match bit for bit
/// up to decoder differences. Thread-safe; each call allocates its own buffers.
/// </summary>
public static class PdqHasher
{
    /// <summary>The side (pixels) the reference hasher resamples larger images to: a decoder may scale down to this on the
    /// shortest side and still feed the hasher nearly the reference's pixels.</summary>
    public const int ReferenceSide = 512;
    const int Downsample = ReferenceSide;
    const int JaroszDivisor = 128;
    const int JaroszPasses = 2;

    /// <summary>16×64 DCT matrix D[i][j] = √(2/64)·cos(π/128·(i+1)·(2j+1)).</summary>
    static readonly float[] Dct = BuildDct();

    /// <summary>Hashes a decoded image. Shape: any W×H ≥ 1.</summary>
    public static PdqResult Hash(RgbImage image)
    {
        var (luma, rows, cols) = Luminance(image);
        var scratch = new float[luma.Length];
        JaroszFilter(luma, scratch, rows, cols, WindowSize(cols), WindowSize(rows));

        var block64 = new float[64 * 64];
        for (var i = 0; i < 64; i++)
        {
            var ini = (int)((i + 0.5) * rows / 64);
            for (var j = 0; j < 64; j++)
                block64[i * 64 + j] = luma[ini * cols + (int)((j + 0.5) * cols / 64)];
        }
        var quality = Quality(block64);
        var dct = Dct64To16(block64);

        var dihedral = new PdqHash[8];
        var aux = new float[256];
        for (var d = 0; d < 8; d++)
        {
            Transform(dct, aux, (Dihedral)d);
            dihedral[d] = ToBits(aux);
        }
        return new PdqResult(dihedral[0], quality, dihedral);
    }

    static (float[] Luma, int Rows, int Cols) Luminance(RgbImage image)
    {
        int h = image.Height, w = image.Width;
        var squash = h > Downsample || w > Downsample;
        int rows = squash ? Downsample : h, cols = squash ? Downsample : w;
        var px = image.Pixels;
        var luma = new float[rows * cols];
        var srcCol = new int[cols];
        for (var j = 0; j < cols; j++) srcCol[j] = squash ? (int)((double)j * w / Downsample) : j;
        for (var i = 0; i < rows; i++)
        {
            var si = squash ? (int)((double)i * h / Downsample) : i;
            var rowBase = si * w;
            for (var j = 0; j < cols; j++)
            {
                var p = (rowBase + srcCol[j]) * 3;
                luma[i * cols + j] = 0.299f * px[p] + 0.587f * px[p + 1] + 0.114f * px[p + 2];
            }
        }
        return (luma, rows, cols);
    }

    static int WindowSize(int dimension) => (dimension + JaroszDivisor - 1) / JaroszDivisor;

    /// <summary>Jarosz (SIGGRAPH 2001) tent filter: X,Y,X,Y box passes. Result ends in <paramref name="buffer"/>.</summary>
    static void JaroszFilter(float[] buffer, float[] scratch, int rows, int cols, int windowAlongRows, int windowAlongCols)
    {
        var sums = new float[cols];
        for (var rep = 0; rep < JaroszPasses; rep++)
        {
            for (var i = 0; i < rows; i++) Box1D(buffer, scratch, i * cols, cols, 1, windowAlongRows);
            BoxColumns(scratch, buffer, sums, rows, cols, windowAlongCols);
        }
    }

    /// <summary>
    /// <see cref="Box1D"/> down every column at once: the same running sums, additions, subtractions and divisions per
    /// column in the same order (so bit-identical results), but sweeping rows, so memory is read in order and the
    /// arithmetic is vectorised across columns instead of striding a column at a time.
    /// </summary>
    static void BoxColumns(float[] input, float[] output, float[] sums, int rows, int cols, int fullWindow)
    {
        var half = (fullWindow + 2) / 2;
        int phase1 = half - 1, phase2 = fullWindow - half + 1, phase3 = rows - fullWindow, phase4 = half - 1;
        int ri = 0, li = 0, oi = 0, window = 0;
        var sum = sums.AsSpan(0, cols);
        sum.Clear();
        Span<float> Row(float[] a, int r) => a.AsSpan(r * cols, cols);
        for (var i = 0; i < phase1; i++) { TensorPrimitives.Add(sum, Row(input, ri++), sum); window++; }
        for (var i = 0; i < phase2; i++) { TensorPrimitives.Add(sum, Row(input, ri++), sum); window++; TensorPrimitives.Divide(sum, window, Row(output, oi++)); }
        for (var i = 0; i < phase3; i++)
        {
            TensorPrimitives.Add(sum, Row(input, ri++), sum);
            TensorPrimitives.Subtract(sum, Row(input, li++), sum);
            TensorPrimitives.Divide(sum, window, Row(output, oi++));
        }
        for (var i = 0; i < phase4; i++) { TensorPrimitives.Subtract(sum, Row(input, li++), sum); window--; TensorPrimitives.Divide(sum, window, Row(output, oi++)); }
    }

    /// <summary>
    /// Centred running mean with shrinking windows at the edges, in the reference's four phases:
    /// accumulate the first half window, write while growing, write while sliding, write while shrinking.
    /// </summary>
    static void Box1D(float[] input, float[] output, int start, int length, int stride, int fullWindow)
    {
        var half = (fullWindow + 2) / 2;
        int phase1 = half - 1, phase2 = fullWindow - half + 1, phase3 = length - fullWindow, phase4 = half - 1;
        int li = start, ri = start, oi = start, window = 0;
        var sum = 0f;
        for (var i = 0; i < phase1; i++) { sum += input[ri]; window++; ri += stride; }
        for (var i = 0; i < phase2; i++) { sum += input[ri]; window++; output[oi] = sum / window; ri += stride; oi += stride; }
        for (var i = 0; i < phase3; i++) { sum += input[ri]; sum -= input[li]; output[oi] = sum / window; li += stride; ri += stride; oi += stride; }
        for (var i = 0; i < phase4; i++) { sum -= input[li]; window--; output[oi] = sum / window; li += stride; oi += stride; }
    }

    /// <summary>Sum of quantised vertical and horizontal gradients of the 64×64 block, /90, capped at 100.</summary>
    static int Quality(float[] b)
    {
        var gradientSum = 0;
        for (var i = 0; i < 63; i++)
            for (var j = 0; j < 64; j++)
                gradientSum += Math.Abs((int)((b[i * 64 + j] - b[(i + 1) * 64 + j]) * 100 / 255));
        for (var i = 0; i < 64; i++)
            for (var j = 0; j < 63; j++)
                gradientSum += Math.Abs((int)((b[i * 64 + j] - b[i * 64 + j + 1]) * 100 / 255));
        return Math.Min(gradientSum / 90, 100);
    }

    /// <summary>B = D·A·Dᵀ for the 64×64 block A: rows/columns 1–16 of the 2-D DCT-II (DC excluded). Returns 16×16 row-major.</summary>
    static float[] Dct64To16(float[] a)
    {
        var t = new float[16 * 64];
        for (var i = 0; i < 16; i++)
            for (var j = 0; j < 64; j++)
            {
                var sum = 0f;
                for (var k = 0; k < 64; k++) sum += Dct[i * 64 + k] * a[k * 64 + j];
                t[i * 64 + j] = sum;
            }
        var b = new float[256];
        for (var i = 0; i < 16; i++)
            for (var j = 0; j < 16; j++)
            {
                var sum = 0f;
                for (var k = 0; k < 64; k++) sum += t[i * 64 + k] * Dct[j * 64 + k];
                b[i * 16 + j] = sum;
            }
        return b;
    }

    /// <summary>The DCT block of a rotated or mirrored image, from symmetries of the cosine basis (odd rows/columns change sign under reflection).</summary>
    static void Transform(float[] a, float[] b, Dihedral d)
    {
        for (var i = 0; i < 16; i++)
            for (var j = 0; j < 16; j++)
            {
                var v = a[i * 16 + j];
                switch (d)
                {
                    case Dihedral.Original: b[i * 16 + j] = v; break;
                    case Dihedral.Rotate90: b[j * 16 + i] = (j & 1) != 0 ? v : -v; break;
                    case Dihedral.Rotate180: b[i * 16 + j] = ((i + j) & 1) != 0 ? -v : v; break;
                    case Dihedral.Rotate270: b[j * 16 + i] = (i & 1) != 0 ? v : -v; break;
                    case Dihedral.FlipX: b[i * 16 + j] = (i & 1) != 0 ? v : -v; break;
                    case Dihedral.FlipY: b[i * 16 + j] = (j & 1) != 0 ? v : -v; break;
                    case Dihedral.FlipPlus1: b[j * 16 + i] = v; break;
                    case Dihedral.FlipMinus1: b[j * 16 + i] = ((i + j) & 1) != 0 ? -v : v; break;
                }
            }
    }

    /// <summary>One bit per coefficient: set when strictly greater than the median (the 128th smallest, as Torben's median returns).</summary>
    static PdqHash ToBits(float[] block)
    {
        Span<float> sorted = stackalloc float[256];
        block.CopyTo(sorted);
        sorted.Sort();
        var median = sorted[127];
        Span<bool> bits = stackalloc bool[256];
        for (var k = 0; k < 256; k++) bits[k] = block[k] > median;
        return PdqHash.FromBits(bits);
    }

    static float[] BuildDct()
    {
        var d = new float[16 * 64];
        var scale = Math.Sqrt(2.0 / 64.0);
        for (var i = 0; i < 16; i++)
            for (var j = 0; j < 64; j++)
                d[i * 64 + j] = (float)(scale * Math.Cos(Math.PI / 2 / 64.0 * (i + 1) * (2 * j + 1)));
        return d;
    }
}
