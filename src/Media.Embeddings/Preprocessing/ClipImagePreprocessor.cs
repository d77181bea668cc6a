using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Numerics;
using System.Numerics.Tensors;
using Media.Codecs;
using Media.Embeddings.Packs;

namespace Media.Embeddings.Preprocessing;

/// <summary>
/// The image preprocessing a pack declares (<see cref="ImagePreprocessing"/>), turning a decoded RGB image into the
/// float32 NCHW tensor <c>[3, crop, crop]</c> its image tower takes. Two resamplers:
/// <list type="bullet">
/// <item><c>bicubic</c> / <c>bilinear</c>: CLIP preprocessing as Hugging Face <c>CLIPImageProcessor</c> and OpenAI CLIP do it
/// — Pillow's <c>Image.resize(…, BICUBIC|BILINEAR)</c>, the separable, antialiased convolution of Pillow's
/// <c>libImaging/Resample.c</c> (bicubic a = −0.5, support scaled by the downscale factor, 22-bit fixed-point weights,
/// horizontal pass then vertical, 8-bit rounding and clipping between passes) — then rescale to [0,1] and per-channel
/// <c>(x − mean)/std</c>.</item>
/// <item><c>bilinear-align-corners</c>: nsfwjs's <c>infer</c> — <c>img.toFloat().div(255)</c>, then TensorFlow.js
/// <c>tf.image.resizeBilinear(x, [size, size], alignCorners = true)</c> as its CPU kernel computes it
/// (<c>tfjs-backend-cpu</c> <c>ResizeBilinear</c>: source coordinate <c>dst·(in−1)/(out−1)</c>, floor/ceil neighbours
/// clamped to the image, interpolation in double precision, stored as float32; no antialiasing), then
/// <c>(x − mean)/std</c> in float32 (identity for nsfwjs's mean 0, std 1), bit for bit what tfjs feeds the model.</item>
/// </list>
/// Resize: <c>shortest_edge</c> scales the shortest side to <c>size</c> (the long side <c>⌊size·long/short⌋</c>) and
/// centre-crops at ⌊(dim − crop)/2⌋ as HF's <c>center_crop</c>; <c>stretch</c> scales both sides to <c>size</c> and
/// does not crop. Only the pixels inside the crop are computed; they equal the full resize followed by the crop.
/// Thread-safe.
/// </summary>
public sealed class ClipImagePreprocessor
{
    const int PrecisionBits = 32 - 8 - 2;
    readonly ImagePreprocessing _spec;
    readonly Func<double, double>? _filter;
    readonly double _support;
    readonly bool _alignCorners;
    readonly float[] _scale = new float[3];
    readonly float[] _offset = new float[3];

    /// <exception cref="ArgumentException">The spec names a resize or resample this class does not implement.</exception>
    public ClipImagePreprocessor(ImagePreprocessing spec)
    {
        _spec = spec;
        if (spec.Resize is not (ImagePreprocessing.ResizeShortestEdge or ImagePreprocessing.ResizeStretch))
            throw new ArgumentException($"resize '{spec.Resize}' is not supported", nameof(spec));
        if (spec.Resize == ImagePreprocessing.ResizeStretch && spec.CropSize != spec.Size)
            throw new ArgumentException($"resize 'stretch' needs cropSize = size, got {spec.CropSize} and {spec.Size}", nameof(spec));
        switch (spec.Resample)
        {
            case ImagePreprocessing.ResampleBicubic: (_filter, _support) = (Bicubic, 2.0); break;
            case ImagePreprocessing.ResampleBilinear: (_filter, _support) = (Bilinear, 1.0); break;
            case ImagePreprocessing.ResampleBilinearAlignCorners: _alignCorners = true; break;
            default: throw new ArgumentException($"resample '{spec.Resample}' is not supported", nameof(spec));
        }
        for (var c = 0; c < 3; c++)
        {
            _scale[c] = 1f / (255f * spec.Std[c]);
            _offset[c] = -spec.Mean[c] / spec.Std[c];
        }
    }

    /// <summary>Floats written per image: 3·crop·crop.</summary>
    public int ValuesPerImage => 3 * _spec.CropSize * _spec.CropSize;

    /// <summary>The shortest-edge resize target of HF's <c>get_resize_output_image_size</c> (width, height).</summary>
    public static (int Width, int Height) ResizeTarget(int width, int height, int size)
    {
        if (width <= height) return (size, (int)((long)size * height / width));
        return ((int)((long)size * width / height), size);
    }

    /// <summary>Writes the preprocessed <c>[3, crop, crop]</c> tensor of <paramref name="image"/> into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The destination is shorter than <see cref="ValuesPerImage"/>.</exception>
    public void Preprocess(RgbImage image, Span<float> destination)
    {
        var crop = _spec.CropSize;
        if (destination.Length < ValuesPerImage) throw new ArgumentException($"need {ValuesPerImage} floats", nameof(destination));
        var (rw, rh) = _spec.Resize == ImagePreprocessing.ResizeStretch ? (_spec.Size, _spec.Size) : ResizeTarget(image.Width, image.Height, _spec.Size);
        if (_alignCorners)
        {
            ResizeAlignCorners(image, rw, rh, (rw - crop) / 2, (rh - crop) / 2, crop, crop, destination);
            return;
        }
        var resized = ResizeCropped(image, rw, rh, (rw - crop) / 2, (rh - crop) / 2, crop, crop);

        // Deinterleave into planes and normalise: x/255·(1/std) − mean/std, vectorised per plane.
        var plane = crop * crop;
        Span<float> values = plane <= 1 << 16 ? stackalloc float[plane] : new float[plane];
        for (var c = 0; c < 3; c++)
        {
            for (var i = 0; i < plane; i++) values[i] = resized[i * 3 + c];
            var target = destination.Slice(c * plane, plane);
            TensorPrimitives.Multiply(values, _scale[c], target);
            TensorPrimitives.Add(target, _offset[c], target);
        }
    }

    /// <summary>
    /// Pillow's resize of <paramref name="image"/> to <paramref name="outW"/>×<paramref name="outH"/>, computing only the
    /// window [<paramref name="left"/>, +<paramref name="width"/>) × [<paramref name="top"/>, +<paramref name="height"/>). Returns interleaved RGB bytes.
    /// </summary>
    /// <exception cref="InvalidOperationException">This preprocessor resamples with <c>bilinear-align-corners</c>, not Pillow.</exception>
    public byte[] ResizeCropped(RgbImage image, int outW, int outH, int left, int top, int width, int height)
    {
        if (_filter is null) throw new InvalidOperationException($"ResizeCropped is Pillow's resize; this preprocessor resamples with '{_spec.Resample}'");
        var horizontal = Coefficients(image.Width, outW, left, width);
        var vertical = Coefficients(image.Height, outH, top, height);
        var needH = outW != image.Width;
        var needV = outH != image.Height;

        // Source rows the vertical pass reads.
        int firstRow = vertical.Min[0], lastRow = vertical.Min[height - 1] + vertical.Count[height - 1];
        if (!needV) { firstRow = top; lastRow = top + height; }

        // Horizontal pass over the needed rows → temp [rows, width, 3].
        var rows = lastRow - firstRow;
        byte[] temp;
        if (needH)
        {
            temp = new byte[rows * width * 3];
            ReadOnlySpan<byte> src = image.Pixels;
            ReadOnlySpan<int> weights = horizontal.Weights;
            for (var y = 0; y < rows; y++)
            {
                var srcRow = src.Slice((firstRow + y) * image.Width * 3, image.Width * 3);
                var outRow = temp.AsSpan(y * width * 3, width * 3);
                for (var x = 0; x < width; x++)
                {
                    int n = horizontal.Count[x];
                    // Bounds are checked once by the slices; the tap loop then walks references.
                    ref readonly var tap = ref MemoryMarshal.GetReference(srcRow.Slice(horizontal.Min[x] * 3, n * 3));
                    ref readonly var w = ref MemoryMarshal.GetReference(weights.Slice(x * horizontal.Ksize, n));
                    int r = 1 << (PrecisionBits - 1), g = r, b = r;
                    for (var k = 0; k < n; k++)
                    {
                        var wk = Unsafe.Add(ref Unsafe.AsRef(in w), k);
                        ref var p = ref Unsafe.Add(ref Unsafe.AsRef(in tap), 3 * k);
                        r += p * wk; g += Unsafe.Add(ref p, 1) * wk; b += Unsafe.Add(ref p, 2) * wk;
                    }
                    outRow[3 * x] = Clip8(r); outRow[3 * x + 1] = Clip8(g); outRow[3 * x + 2] = Clip8(b);
                }
            }
        }
        else
        {
            temp = new byte[rows * width * 3];
            for (var y = 0; y < rows; y++)
                Array.Copy(image.Pixels, ((firstRow + y) * image.Width + left) * 3, temp, y * width * 3, width * 3);
        }
        if (!needV) return temp;

        // Vertical pass → [height, width, 3]: per output row, the weighted source rows accumulated across the whole row
        // (vectorised; the same integer sums as Pillow's per-pixel loop).
        var output = new byte[height * width * 3];
        var stride = width * 3;
        var acc = new int[stride];
        for (var y = 0; y < height; y++)
        {
            int ymin = vertical.Min[y] - firstRow, n = vertical.Count[y], kOff = y * vertical.Ksize;
            Array.Fill(acc, 1 << (PrecisionBits - 1));
            for (var k = 0; k < n; k++) AccumulateRow(acc, temp.AsSpan((ymin + k) * stride, stride), vertical.Weights[kOff + k]);
            var outRow = output.AsSpan(y * stride, stride);
            for (var x = 0; x < stride; x++) outRow[x] = Clip8(acc[x]);
        }
        return output;
    }

    /// <summary><c>acc[x] += row[x] · weight</c> for every x, in 32-bit integers (exact), vectorised.</summary>
    static void AccumulateRow(Span<int> acc, ReadOnlySpan<byte> row, int weight)
    {
        var x = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var w = new Vector<int>(weight);
            var lanes = Vector<int>.Count;
            for (; x <= row.Length - Vector<byte>.Count; x += Vector<byte>.Count)
            {
                Vector.Widen(new Vector<byte>(row.Slice(x)), out var lo, out var hi);
                Vector.Widen(lo, out var a0, out var a1);
                Vector.Widen(hi, out var a2, out var a3);
                var slot = acc.Slice(x);
                (new Vector<int>(slot) + Vector.AsVectorInt32(a0) * w).CopyTo(slot);
                (new Vector<int>(slot.Slice(lanes)) + Vector.AsVectorInt32(a1) * w).CopyTo(slot.Slice(lanes));
                (new Vector<int>(slot.Slice(2 * lanes)) + Vector.AsVectorInt32(a2) * w).CopyTo(slot.Slice(2 * lanes));
                (new Vector<int>(slot.Slice(3 * lanes)) + Vector.AsVectorInt32(a3) * w).CopyTo(slot.Slice(3 * lanes));
            }
        }
        for (; x < row.Length; x++) acc[x] += row[x] * weight;
    }

    void ResizeAlignCorners(RgbImage image, int outW, int outH, int left, int top, int width, int height, Span<float> destination)
    {
        // Per output column and row: the two source indexes and the fraction, exactly as the tfjs kernel computes them.
        var (x0, x1, fx) = AlignCornersTaps(image.Width, outW, left, width);
        var (y0, y1, fy) = AlignCornersTaps(image.Height, outH, top, height);
        var src = image.Pixels;
        var stride = image.Width * 3;
        var plane = width * height;
        float m0 = _spec.Mean[0], m1 = _spec.Mean[1], m2 = _spec.Mean[2], s0 = _spec.Std[0], s1 = _spec.Std[1], s2 = _spec.Std[2];
        for (var y = 0; y < height; y++)
        {
            int top0 = y0[y] * stride, bot0 = y1[y] * stride;
            var rowFrac = fy[y];
            for (var x = 0; x < width; x++)
            {
                int l = x0[x] * 3, r = x1[x] * 3;
                var colFrac = fx[x];
                var o = y * width + x;
                for (var c = 0; c < 3; c++)
                {
                    // float32(byte / 255) as tfjs's toFloat().div(255) stores it, then the kernel's double arithmetic.
                    double tl = src[top0 + l + c] / 255f, tr = src[top0 + r + c] / 255f, bl = src[bot0 + l + c] / 255f, br = src[bot0 + r + c] / 255f;
                    var t = tl + (tr - tl) * colFrac;
                    var b = bl + (br - bl) * colFrac;
                    var v = (float)(t + (b - t) * rowFrac);
                    destination[c * plane + o] = c switch { 0 => (v - m0) / s0, 1 => (v - m1) / s1, _ => (v - m2) / s2 };
                }
            }
        }
    }

    /// <summary>tfjs's <c>ResizeBilinear</c> source taps for output indices [first, first+count) of an <paramref name="inSize"/> → <paramref name="outSize"/> resize with align corners.</summary>
    static (int[] Floor, int[] Ceil, double[] Frac) AlignCornersTaps(int inSize, int outSize, int first, int count)
    {
        var ratio = outSize > 1 ? (double)(inSize - 1) / (outSize - 1) : (double)inSize / outSize;
        var floor = new int[count];
        var ceil = new int[count];
        var frac = new double[count];
        for (var i = 0; i < count; i++)
        {
            var source = ratio * (first + i);
            var f = Math.Max(0, (int)Math.Floor(source));
            floor[i] = f;
            frac[i] = source - f;
            ceil[i] = Math.Min(inSize - 1, (int)Math.Ceiling(source));
        }
        return (floor, ceil, frac);
    }

    static byte Clip8(int v) => v <= 0 ? (byte)0 : v >= 255 << PrecisionBits ? (byte)255 : (byte)(v >> PrecisionBits);

    sealed record Coeffs(int[] Min, int[] Count, int[] Weights, int Ksize);

    /// <summary>Pillow's <c>precompute_coeffs</c> + <c>normalize_coeffs_8bpc</c> for output indices [first, first+count).</summary>
    Coeffs Coefficients(int inSize, int outSize, int first, int count)
    {
        var scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = _support * filterScale;
        var ksize = (int)Math.Ceiling(support) * 2 + 1;
        var min = new int[count];
        var n = new int[count];
        var weights = new int[count * ksize];
        var k = new double[ksize];
        for (var i = 0; i < count; i++)
        {
            var xx = first + i;
            var center = (xx + 0.5) * scale;
            var ss = 1.0 / filterScale;
            var xmin = Math.Max((int)(center - support + 0.5), 0);
            var xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            var ww = 0.0;
            for (var x = 0; x < xmax; x++) { k[x] = _filter!((x + xmin - center + 0.5) * ss); ww += k[x]; }
            for (var x = 0; x < xmax; x++)
            {
                var w = ww != 0.0 ? k[x] / ww : k[x];
                weights[i * ksize + x] = w < 0 ? (int)(-0.5 + w * (1 << PrecisionBits)) : (int)(0.5 + w * (1 << PrecisionBits));
            }
            min[i] = xmin;
            n[i] = xmax;
        }
        return new Coeffs(min, n, weights, ksize);
    }

    /// <summary>Keys' cubic convolution with a = −0.5 (Pillow's <c>bicubic_filter</c>).</summary>
    static double Bicubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    static double Bilinear(double x)
    {
        x = Math.Abs(x);
        return x < 1.0 ? 1.0 - x : 0.0;
    }
}
