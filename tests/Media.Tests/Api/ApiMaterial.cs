using System.IO.Compression;
using System.Security.Cryptography;
using Media.Codecs;

namespace Media.Tests.Api;

/// <summary>Images made for the API tests: textured colour images (PDQ quality high enough for near-duplicate detection) as WebP, and a PNG decompression bomb.</summary>
static class ApiMaterial
{
    /// <summary>
    /// A <paramref name="size"/>² image of 16×16 blocks whose brightness varies at random (seeded) around <paramref name="rgb"/>,
    /// encoded as WebP at <paramref name="quality"/>. The same seed at another size or quality is a near-duplicate (PDQ).
    /// </summary>
    public static byte[] Blocks((byte R, byte G, byte B) rgb, int seed, int size = 256, float quality = 90)
    {
        var rng = new Random(seed);
        var levels = new double[16, 16];
        for (var y = 0; y < 16; y++) for (var x = 0; x < 16; x++) levels[y, x] = 0.3 + 0.7 * rng.NextDouble();
        var pixels = new byte[size * size * 3];
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                var f = levels[y * 16 / size, x * 16 / size];
                var p = (y * size + x) * 3;
                pixels[p] = (byte)(rgb.R * f);
                pixels[p + 1] = (byte)(rgb.G * f);
                pixels[p + 2] = (byte)(rgb.B * f);
            }
        return Thumbnail.EncodeWebP(new RgbImage(size, size, pixels), quality);
    }

    public static readonly (byte, byte, byte) Red = (230, 30, 30), Green = (30, 200, 40), Blue = (30, 40, 220);

    /// <summary>SHA-256 hex, the media id of these bytes.</summary>
    public static string Id(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>A valid 1-bit grayscale PNG of <paramref name="side"/>×<paramref name="side"/> zero pixels: ≈110 KB that would decode to 2.7 GB as RGB at 30000.</summary>
    public static byte[] PngBomb(int side = 30000)
    {
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var row = new byte[1 + (side + 7) / 8]; // filter byte 0, then zeros
            for (var y = 0; y < side; y++) z.Write(row);
        }
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr, side);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), side);
        ihdr[8] = 1; // bit depth 1, colour type 0 (grayscale), deflate, adaptive filtering, no interlace
        Chunk(png, "IHDR"u8, ihdr);
        Chunk(png, "IDAT"u8, idat.ToArray());
        Chunk(png, "IEND"u8, []);
        return png.ToArray();
    }

    static void Chunk(Stream s, ReadOnlySpan<byte> type, byte[] data)
    {
        Span<byte> n = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(n, data.Length);
        s.Write(n);
        s.Write(type);
        s.Write(data);
        var crc = Crc32([.. type, .. data]);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(n, crc);
        s.Write(n);
    }

    static uint Crc32(byte[] data)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            c ^= b;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }
}
