using System.Runtime.InteropServices;

namespace Media.Codecs.Native;

/// <summary>Thin P/Invoke to libwebp's simple decoding and encoding API (Debian package libwebp7). It decodes into our buffers, so nothing native is left to free; an encoded buffer is copied out and freed at once.</summary>
internal static unsafe class WebP
{
    const string Lib = "libwebp.so.7";
    /// <summary>WEBP_DECODER_ABI_VERSION of libwebp 1.2.</summary>
    const int DecoderAbiVersion = 0x0209;

    [StructLayout(LayoutKind.Sequential)]
    public struct BitstreamFeatures
    {
        public int Width, Height, HasAlpha, HasAnimation, Format;
        fixed uint Pad[5];
    }

    /// <summary>Returns VP8_STATUS_OK (0) on success.</summary>
    [DllImport(Lib)] static extern int WebPGetFeaturesInternal(byte* data, nuint size, out BitstreamFeatures features, int version);
    [DllImport(Lib)] public static extern byte* WebPDecodeRGBAInto(byte* data, nuint size, byte* output, nuint outputSize, int stride);
    [DllImport(Lib)] public static extern byte* WebPDecodeRGBInto(byte* data, nuint size, byte* output, nuint outputSize, int stride);

    /// <summary>Lossy-encodes RGB; returns the encoded size (0 on failure) and a buffer to release with <see cref="WebPFree"/>.</summary>
    [DllImport(Lib)] public static extern nuint WebPEncodeRGB(byte* rgb, int width, int height, int stride, float qualityFactor, out byte* output);
    [DllImport(Lib)] public static extern void WebPFree(void* ptr);

    public static int GetFeatures(byte* data, nuint size, out BitstreamFeatures features) => WebPGetFeaturesInternal(data, size, out features, DecoderAbiVersion);

    public static string Status(int code) => code switch
    {
        1 => "out of memory",
        2 => "invalid parameter",
        3 => "corrupt bitstream",
        4 => "unsupported feature",
        5 => "suspended",
        6 => "user abort",
        7 => "not enough data (truncated file)",
        _ => $"status {code}",
    };
}
