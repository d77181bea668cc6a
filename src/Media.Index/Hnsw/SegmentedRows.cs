using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Media.Index.Hnsw;

/// <summary>
/// Fixed-width rows of <typeparamref name="T"/> in native, 64-byte-aligned segments that never move, addressed by
/// pointer: segment k holds rows [B·(2^k − 1), B·(2^(k+1) − 1)), so capacity doubles without copying. The segment
/// table has a fixed length and growing only fills an empty slot (a release write), before any row in that segment is
/// published, so a lock-free reader never sees a row move or the table resize. Rows are not zeroed. One writer.
/// </summary>
unsafe sealed class SegmentedRows<T> where T : unmanaged
{
    const int BaseLog = 8;
    const int Base = 1 << BaseLog;
    const int MaxSegments = 32 - BaseLog;
    readonly nint[] _segments = new nint[MaxSegments];
    int _allocated;

    public SegmentedRows(int stride)
    {
        if (stride <= 0) throw new ArgumentOutOfRangeException(nameof(stride));
        Stride = stride;
    }

    /// <summary>Elements of <typeparamref name="T"/> per row.</summary>
    public int Stride { get; }
    /// <summary>Rows that fit in the segments allocated so far.</summary>
    public int Capacity { get; private set; }
    /// <summary>Bytes allocated (for memory reporting).</summary>
    public long AllocatedBytes { get; private set; }

    /// <summary>The row's first element. The row must lie below <see cref="Capacity"/> as the caller last saw it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* Row(int row)
    {
        var b = (uint)row + Base;
        var k = BitOperations.Log2(b) - BaseLog;
        return (T*)_segments[k] + (nint)(b - ((uint)Base << k)) * Stride;
    }

    /// <summary>The segment a row lies in (rows of one segment are contiguous).</summary>
    public static int SegmentOf(int row) => BitOperations.Log2((uint)row + Base) - BaseLog;
    /// <summary>The first row of segment <paramref name="segment"/>.</summary>
    public static int FirstRowOf(int segment) => (int)(((uint)Base << segment) - Base);

    public void EnsureCapacity(int rows)
    {
        while (Capacity < rows)
        {
            if (_allocated == MaxSegments) throw new InvalidOperationException("index is full");
            var size = (long)Base << _allocated;
            var bytes = (nuint)(size * Stride * sizeof(T));
            var p = (nint)NativeMemory.AlignedAlloc(bytes, 64);
            GC.AddMemoryPressure((long)bytes);
            Volatile.Write(ref _segments[_allocated++], p);
            Capacity = (int)Math.Min(int.MaxValue, Capacity + size);
            AllocatedBytes += (long)bytes;
        }
    }

    /// <summary>Frees every segment now (the owner guarantees no reader or writer uses the rows any more).</summary>
    public void Free()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    ~SegmentedRows() => Release();

    void Release()
    {
        for (var k = 0; k < _allocated; k++)
        {
            NativeMemory.AlignedFree((void*)_segments[k]);
            _segments[k] = 0;
            GC.RemoveMemoryPressure(((long)Base << k) * Stride * sizeof(T));
        }
        _allocated = 0;
        Capacity = 0;
        AllocatedBytes = 0;
    }
}
