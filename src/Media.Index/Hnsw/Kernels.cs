using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Media.Index.Hnsw;

/// <summary>Dot products on raw rows: float·float (AVX-512 / AVX2 with four accumulators) and int16·int8 for the
/// quantised traversal (vpmovsxbw + vpmaddwd). Each falls back to portable code where the instructions are missing.</summary>
static unsafe class Kernels
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n)
    {
        if (Vector512.IsHardwareAccelerated && n >= 16) return Dot512(a, b, n);
        if (Vector256.IsHardwareAccelerated && n >= 8) return Dot256(a, b, n);
        return TensorPrimitives.Dot(new ReadOnlySpan<float>(a, n), new ReadOnlySpan<float>(b, n));
    }

    static float Dot512(float* a, float* b, int n)
    {
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
        var i = 0;
        for (; i <= n - 64; i += 64)
        {
            s0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), s0);
            s1 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 16), Vector512.Load(b + i + 16), s1);
            s2 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 32), Vector512.Load(b + i + 32), s2);
            s3 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 48), Vector512.Load(b + i + 48), s3);
        }
        for (; i <= n - 16; i += 16) s0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), s0);
        var sum = Vector512.Sum((s0 + s1) + (s2 + s3));
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    static float Dot256(float* a, float* b, int n)
    {
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        var i = 0;
        if (Fma.IsSupported)
        {
            for (; i <= n - 32; i += 32)
            {
                s0 = Fma.MultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), s0);
                s1 = Fma.MultiplyAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), s1);
                s2 = Fma.MultiplyAdd(Vector256.Load(a + i + 16), Vector256.Load(b + i + 16), s2);
                s3 = Fma.MultiplyAdd(Vector256.Load(a + i + 24), Vector256.Load(b + i + 24), s3);
            }
        }
        for (; i <= n - 8; i += 8) s0 += Vector256.Load(a + i) * Vector256.Load(b + i);
        var sum = Vector256.Sum((s0 + s1) + (s2 + s3));
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>Σ q[i]·c[i] for an int16 query and int8 codes. Callers keep |q| small enough that the int32 sum cannot overflow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int DotI8(short* q, sbyte* c, int n)
    {
        var i = 0;
        var sum = 0;
        if (Avx512BW.IsSupported && n >= 32)
        {
            Vector512<int> s0 = default, s1 = default;
            for (; i <= n - 64; i += 64)
            {
                s0 = Avx512F.Add(s0, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(c + i)), Avx512F.LoadVector512(q + i)));
                s1 = Avx512F.Add(s1, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(c + i + 32)), Avx512F.LoadVector512(q + i + 32)));
            }
            for (; i <= n - 32; i += 32)
                s0 = Avx512F.Add(s0, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(c + i)), Avx512F.LoadVector512(q + i)));
            sum = Vector512.Sum(s0 + s1);
        }
        else if (Avx2.IsSupported && n >= 16)
        {
            Vector256<int> s0 = default, s1 = default;
            for (; i <= n - 32; i += 32)
            {
                s0 = Avx2.Add(s0, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.LoadVector128(c + i)), Avx.LoadVector256(q + i)));
                s1 = Avx2.Add(s1, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.LoadVector128(c + i + 16)), Avx.LoadVector256(q + i + 16)));
            }
            for (; i <= n - 16; i += 16)
                s0 = Avx2.Add(s0, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.LoadVector128(c + i)), Avx.LoadVector256(q + i)));
            sum = Vector256.Sum(s0 + s1);
        }
        for (; i < n; i++) sum += q[i] * c[i];
        return sum;
    }
}
