using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Media.Codecs.Native;

/// <summary>Thin P/Invoke to libspng 0.7 (Debian package libspng0).</summary>
internal static unsafe class Spng
{
    const string Lib = "libspng.so.0";

    public const int FormatRgba8 = 1;   // SPNG_FMT_RGBA8
    public const int FormatRgb8 = 4;    // SPNG_FMT_RGB8
    public const int DecodeTrns = 1;    // SPNG_DECODE_TRNS

    [StructLayout(LayoutKind.Sequential)]
    public struct Ihdr
    {
        public uint Width, Height;
        public byte BitDepth, ColorType, Compression, Filter, Interlace;
    }

    [DllImport(Lib)] public static extern IntPtr spng_ctx_new(int flags);
    [DllImport(Lib)] public static extern void spng_ctx_free(IntPtr ctx);
    [DllImport(Lib)] public static extern int spng_set_png_buffer(SafeSpngContext ctx, byte* buf, nuint size);
    [DllImport(Lib)] public static extern int spng_set_image_limits(SafeSpngContext ctx, uint width, uint height);
    [DllImport(Lib)] public static extern int spng_set_chunk_limits(SafeSpngContext ctx, nuint chunkSize, nuint cacheSize);
    [DllImport(Lib)] public static extern int spng_get_ihdr(SafeSpngContext ctx, out Ihdr ihdr);
    [DllImport(Lib)] public static extern int spng_get_trns(SafeSpngContext ctx, byte* trns);
    [DllImport(Lib)] public static extern int spng_decoded_image_size(SafeSpngContext ctx, int fmt, out nuint len);
    [DllImport(Lib)] public static extern int spng_decode_image(SafeSpngContext ctx, byte* output, nuint len, int fmt, int flags);
    [DllImport(Lib)] public static extern IntPtr spng_strerror(int err);

    public static string Error(int rc) => Marshal.PtrToStringUTF8(spng_strerror(rc)) ?? $"libspng error {rc}";
}

/// <summary>A libspng decoding context, freed on dispose.</summary>
internal sealed class SafeSpngContext : SafeHandleZeroOrMinusOneIsInvalid
{
    public SafeSpngContext() : base(ownsHandle: true) { }

    public static SafeSpngContext Create()
    {
        var h = new SafeSpngContext();
        h.SetHandle(Spng.spng_ctx_new(0));
        if (h.IsInvalid) throw new OutOfMemoryException("spng_ctx_new failed");
        return h;
    }

    protected override bool ReleaseHandle()
    {
        Spng.spng_ctx_free(handle);
        return true;
    }
}
