using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Media.Hashing.Native;

/// <summary>Thin P/Invoke to libchromaprint 1.5 (Debian package libchromaprint1).</summary>
internal static unsafe class Chromaprint
{
    const string Lib = "libchromaprint.so.1";
    public const int AlgorithmDefault = 1; // CHROMAPRINT_ALGORITHM_TEST2

    [DllImport(Lib)] public static extern SafeChromaprintContext chromaprint_new(int algorithm);
    [DllImport(Lib)] public static extern void chromaprint_free(IntPtr ctx);
    [DllImport(Lib)] public static extern int chromaprint_start(SafeChromaprintContext ctx, int sampleRate, int channels);
    [DllImport(Lib)] public static extern int chromaprint_feed(SafeChromaprintContext ctx, short* data, int size);
    [DllImport(Lib)] public static extern int chromaprint_finish(SafeChromaprintContext ctx);
    [DllImport(Lib)] public static extern int chromaprint_get_raw_fingerprint(SafeChromaprintContext ctx, out uint* fingerprint, out int size);
    [DllImport(Lib)] public static extern int chromaprint_get_item_duration_ms(SafeChromaprintContext ctx);
    [DllImport(Lib)] public static extern void chromaprint_dealloc(void* ptr);
    [DllImport(Lib)] public static extern int chromaprint_encode_fingerprint(uint* fp, int size, int algorithm, out byte* encoded, out int encodedSize, int base64);
}

/// <summary>A Chromaprint context, freed on dispose.</summary>
internal sealed class SafeChromaprintContext : SafeHandleZeroOrMinusOneIsInvalid
{
    public SafeChromaprintContext() : base(ownsHandle: true) { }

    /// <summary>A new context for the default algorithm; the handle is this context's only owner.</summary>
    public static SafeChromaprintContext Create()
    {
        var h = Chromaprint.chromaprint_new(Chromaprint.AlgorithmDefault);
        if (h.IsInvalid) throw new OutOfMemoryException("chromaprint_new failed");
        return h;
    }

    protected override bool ReleaseHandle()
    {
        Chromaprint.chromaprint_free(handle);
        return true;
    }
}
