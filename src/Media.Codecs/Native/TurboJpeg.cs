using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Media.Codecs.Native;

/// <summary>Thin P/Invoke to libjpeg-turbo's TurboJPEG 2.x API (Debian package libturbojpeg0).</summary>
internal static unsafe partial class TurboJpeg
{
    const string Lib = "libturbojpeg.so.0";

    public const int PixelFormatRgb = 0;    // TJPF_RGB
    public const int PixelFormatCmyk = 11;  // TJPF_CMYK
    public const int ColorspaceCmyk = 3;    // TJCS_CMYK
    public const int ColorspaceYcck = 4;    // TJCS_YCCK
    public const int FlagLimitScans = 32768;     // TJFLAG_LIMITSCANS: refuse progressive JPEGs with > 500 scans
    public const int ErrorWarning = 0;      // TJERR_WARNING

    [StructLayout(LayoutKind.Sequential)]
    public struct ScalingFactor { public int Num; public int Denom; }

    [DllImport(Lib)] public static extern IntPtr tjInitDecompress();
    [DllImport(Lib)] public static extern int tjDestroy(IntPtr handle);
    [DllImport(Lib)] public static extern int tjDecompressHeader3(SafeTurboJpegHandle handle, byte* jpeg, nuint size, out int width, out int height, out int subsamp, out int colorspace);
    [DllImport(Lib)] public static extern int tjDecompress2(SafeTurboJpegHandle handle, byte* jpeg, nuint size, byte* dst, int width, int pitch, int height, int pixelFormat, int flags);
    [DllImport(Lib)] public static extern IntPtr tjGetErrorStr2(SafeTurboJpegHandle handle);
    [DllImport(Lib)] public static extern int tjGetErrorCode(SafeTurboJpegHandle handle);
    [DllImport(Lib)] public static extern ScalingFactor* tjGetScalingFactors(out int count);

    public static string LastError(SafeTurboJpegHandle h) => Marshal.PtrToStringUTF8(tjGetErrorStr2(h)) ?? "unknown TurboJPEG error";

    /// <summary>TJSCALED: a dimension scaled by num/denom, rounded up.</summary>
    public static int Scaled(int dimension, ScalingFactor f) => (dimension * f.Num + f.Denom - 1) / f.Denom;
}

/// <summary>A TurboJPEG decompressor instance, destroyed on dispose.</summary>
internal sealed class SafeTurboJpegHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public SafeTurboJpegHandle() : base(ownsHandle: true) { }

    public static SafeTurboJpegHandle Create()
    {
        var h = new SafeTurboJpegHandle();
        h.SetHandle(TurboJpeg.tjInitDecompress());
        if (h.IsInvalid) throw new OutOfMemoryException("tjInitDecompress failed");
        return h;
    }

    protected override bool ReleaseHandle() => TurboJpeg.tjDestroy(handle) == 0;
}
