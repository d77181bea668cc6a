using System.Runtime.InteropServices;

namespace Media.Index;

/// <summary>
/// A contiguous, resizable block of <typeparamref name="T"/> in native memory, for the large tables of an index that
/// grow in place. <see cref="Resize"/> is <c>realloc</c>: for blocks of megabytes glibc maps them on their own and grows
/// them with <c>mremap</c>, moving page-table entries rather than bytes, and the old block leaves no garbage behind. A
/// managed array grown with <c>Array.Resize</c> costs a copy and leaves the old array to the GC: at 10⁶ PDQ hashes the
/// 16 multi-index tables (20 MB each) were reallocated every 3% of growth, hundreds of megabytes of large-object
/// garbage held between collections. Elements past those written are not zeroed. The owner is the object holding the
/// buffer; the finalizer frees the block once the owner lets go of it (readers may hold the owner until then, so there
/// is no earlier free), and the block counts as memory pressure meanwhile, so the GC knows what it holds. Not
/// thread-safe: the owner serialises resizes against every access (the multi-index tables: the write lock).
/// </summary>
unsafe sealed class NativeBuffer<T> where T : unmanaged
{
    T* _items;
    long _bytes;

    /// <param name="length">Elements (not zeroed).</param>
    public NativeBuffer(int length) => Resize(length);

    /// <summary>Elements held.</summary>
    public int Length { get; private set; }

    /// <summary>The elements; valid until the next <see cref="Resize"/>.</summary>
    public Span<T> Span => new(_items, Length);

    /// <summary>Grows or shrinks the block to <paramref name="length"/> elements, keeping the first min(old, new) of them.</summary>
    /// <exception cref="OutOfMemoryException">The allocation failed (the block is unchanged).</exception>
    public void Resize(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var bytes = (long)Math.Max(1, length) * sizeof(T);
        _items = (T*)NativeMemory.Realloc(_items, (nuint)bytes);
        if (bytes > _bytes) GC.AddMemoryPressure(bytes - _bytes);
        else if (bytes < _bytes) GC.RemoveMemoryPressure(_bytes - bytes);
        _bytes = bytes;
        Length = length;
    }

    ~NativeBuffer()
    {
        NativeMemory.Free(_items);
        if (_bytes > 0) GC.RemoveMemoryPressure(_bytes); // 0 when the first allocation failed
    }
}
