using System.Buffers.Binary;
using System.IO.Compression;
using Media.Codecs;
using Media.Hashing;

namespace Media.Tests.Codecs;

public class ImageDecoderTests
{
    static readonly ImageDecoder Decoder = new();
    static string Fixture(string name) => Path.Combine(Paths.RepoRoot, "tests", "Media.Tests", "Fixtures", "codecs", name);
    static byte[] Bytes(string name) => File.ReadAllBytes(Fixture(name));
    static byte[] Bridge => File.ReadAllBytes(Path.Combine(Paths.Shared, "pdq", "images", "bridge-mods", "aaa-orig.jpg"));

    static (int R, int G, int B) At(RgbImage img, int x, int y)
    {
        var p = (y * img.Width + x) * 3;
        return (img.Pixels[p], img.Pixels[p + 1], img.Pixels[p + 2]);
    }

    static void Near((int R, int G, int B) actual, (int R, int G, int B) expected, int tolerance = 12)
    {
        Assert.True(Math.Abs(actual.R - expected.R) <= tolerance && Math.Abs(actual.G - expected.G) <= tolerance && Math.Abs(actual.B - expected.B) <= tolerance,
            $"expected ≈{expected}, got {actual}");
    }

    [Theory]
    [InlineData("rgb.jpg", MediaFormat.Jpeg)]
    [InlineData("rgb.png", MediaFormat.Png)]
    [InlineData("rgb-lossless.webp", MediaFormat.WebP)]
    [InlineData("rgb.gif", MediaFormat.Gif)]
    [InlineData("rgb.bmp", MediaFormat.Bmp)]
    [InlineData("rgb.tiff", MediaFormat.Tiff)]
    [InlineData("cmyk.jpg", MediaFormat.Jpeg)]
    [InlineData("palette.png", MediaFormat.Png)]
    public void Colour_layouts_decode_to_the_same_rgb(string file, MediaFormat format)
    {
        var d = Decoder.Decode(Bytes(file));
        Assert.Equal(format, d.Format);
        Assert.Equal((64, 48), (d.Width, d.Height));
        Near(At(d.Image, 8, 24), (200, 30, 30));
        Near(At(d.Image, 56, 24), (30, 60, 200));
    }

    [Theory]
    [InlineData("gray.jpg")]
    [InlineData("gray.png")]
    [InlineData("gray16.png")]
    public void Grayscale_and_16_bit_become_equal_rgb_channels(string file)
    {
        var d = Decoder.Decode(Bytes(file));
        var (r, g, b) = At(d.Image, 8, 24);
        Assert.Equal(r, g);
        Assert.Equal(g, b);
        Assert.InRange(r, 70, 90); // luma of (200,30,30) ≈ 80
    }

    [Theory]
    [InlineData("alpha.png")]
    [InlineData("alpha.webp")]
    public void Alpha_is_composited_on_white(string file)
    {
        var d = Decoder.Decode(Bytes(file));
        Near(At(d.Image, 8, 24), (200, 30, 30), 2);
        Assert.Equal((255, 255, 255), At(d.Image, 56, 24)); // transparent black shows as white
    }

    [Fact]
    public void Exif_orientation_is_applied()
    {
        var d = Decoder.Decode(Bytes("exif-orientation-6.jpg"));
        Assert.Equal((64, 48), (d.Image.Width, d.Image.Height)); // stored 48×64, displayed 64×48
        Assert.Equal((64, 48), (d.Width, d.Height));
        Near(At(d.Image, 8, 24), (200, 30, 30));
        Near(At(d.Image, 56, 24), (30, 60, 200));
    }

    [Fact]
    public void Format_comes_from_the_bytes_not_the_name()
    {
        using var tmp = new TempDir();
        File.Copy(Fixture("rgb.png"), tmp["looks-like.jpg"]);
        Assert.Equal(MediaFormat.Png, Decoder.Decode(File.ReadAllBytes(tmp["looks-like.jpg"])).Format);
    }

    [Fact]
    public void Jpeg_scaled_decode_keeps_the_shortest_side_at_least_the_request()
    {
        var d = Decoder.Decode(Bridge, new DecodeOptions { MinShortSide = 224 });
        Assert.Equal((1600, 1004), (d.Width, d.Height));
        Assert.Equal((400, 251), (d.Image.Width, d.Image.Height)); // 1/4 scale; 1/8 would be 126 rows
    }

    [Fact]
    public void The_same_picture_as_jpeg_png_and_webp_hashes_within_a_few_bits()
    {
        using var tmp = new TempDir();
        var source = Path.Combine(Paths.Shared, "pdq", "images", "bridge-mods", "aaa-orig.jpg");
        foreach (var ext in new[] { "png", "webp" })
            Ffmpeg.Run("-i", source, tmp[$"bridge.{ext}"]);
        var jpeg = PdqHasher.Hash(Decoder.Decode(Bridge).Image).Hash;
        Assert.True(PdqHasher.Hash(Decoder.Decode(File.ReadAllBytes(tmp["bridge.png"])).Image).Hash.HammingDistance(jpeg) <= 4);
        Assert.True(PdqHasher.Hash(Decoder.Decode(File.ReadAllBytes(tmp["bridge.webp"])).Image).Hash.HammingDistance(jpeg) <= 12);
    }

    // ---- hostile input ----

    static string Reject(byte[] data, DecodeLimits? limits = null) =>
        Assert.Throws<MediaRejectedException>(() => new ImageDecoder(limits).Decode(data)).Message;

    [Fact]
    public void Zero_bytes_are_rejected() => Assert.Contains("empty", Reject([]));

    [Fact]
    public void Unknown_bytes_are_rejected() => Assert.Contains("unrecognised format", Reject("hello, this is text"u8.ToArray()));

    [Theory]
    [InlineData("rgb.jpg", "corrupt JPEG")]
    [InlineData("rgb.png", "corrupt PNG")]
    [InlineData("rgb-lossless.webp", "corrupt WebP")]
    [InlineData("rgb.gif", "gif")]
    public void Truncated_files_are_rejected(string file, string reason)
    {
        var data = Bytes(file);
        Assert.Contains(reason, Reject(data[..(data.Length * 2 / 3)]));
    }

    [Fact]
    public void Truncated_photo_is_rejected_as_truncated()
    {
        var data = Bridge;
        Assert.Contains("Premature end", Reject(data[..(data.Length / 2)]));
    }

    [Theory]
    [InlineData("rgb.jpg", 3)]
    [InlineData("rgb.png", 8)]
    [InlineData("rgb-lossless.webp", 12)]
    [InlineData("rgb.gif", 6)]
    [InlineData("rgb.tiff", 4)]
    public void Random_bytes_behind_a_valid_signature_are_rejected(string file, int signature)
    {
        var data = new byte[4096];
        new Random(42).NextBytes(data);
        Bytes(file).AsSpan(0, signature).CopyTo(data);
        if (file.EndsWith(".webp")) BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(4), (uint)data.Length - 8);
        Assert.NotEmpty(Reject(data));
    }

    [Fact]
    public void Absurd_png_dimensions_are_refused_from_the_header()
    {
        var png = Bytes("rgb.png");
        // IHDR data starts at 16: width, height (big-endian); fix the CRC so only the limit can refuse it.
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(16), 1_000_000);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(20), 1_000_000);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        Assert.Contains("over the 100000000-pixel limit", Reject(png));
    }

    [Fact]
    public void Absurd_jpeg_dimensions_are_refused_from_the_header()
    {
        var jpeg = Bytes("rgb.jpg");
        var sof = jpeg.AsSpan().IndexOf((ReadOnlySpan<byte>)[0xFF, 0xC0]);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 5), 65000);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 7), 65000);
        Assert.Contains("pixel limit", Reject(jpeg));
    }

    [Fact]
    public void A_png_bomb_is_refused_before_allocating()
    {
        // 20000×20000 grayscale of zeros: 400 MB of pixels in well under 1 MB of file.
        var png = PngBomb(20000, 20000);
        Assert.True(png.Length < 1 << 20);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        Assert.Contains("decompression bomb", Reject(png));
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 16 << 20);
    }

    [Fact]
    public void Oversized_input_is_refused() =>
        Assert.Contains("over the 100-byte limit", Reject(Bytes("rgb.bmp"), new DecodeLimits { MaxEncodedBytes = 100 }));

    [Fact]
    public void A_slow_out_of_process_decode_is_killed_at_the_time_limit() =>
        Assert.Contains("time limit", Reject(Bytes("rgb.tiff"), new DecodeLimits { Timeout = TimeSpan.FromMilliseconds(1) }));

    [Fact]
    public void Corrupt_input_does_not_leak()
    {
        var corrupt = new[] { Bytes("rgb.jpg")[..300], Bytes("rgb.png")[..80], Bytes("rgb-lossless.webp")[..30] };
        for (var i = 0; i < 300; i++) foreach (var c in corrupt) Assert.ThrowsAny<MediaRejectedException>(() => Decoder.Decode(c));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var rss = Environment.WorkingSet;
        for (var i = 0; i < 3000; i++) foreach (var c in corrupt) Assert.ThrowsAny<MediaRejectedException>(() => Decoder.Decode(c));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True(Environment.WorkingSet - rss < 32 << 20, $"working set grew by {(Environment.WorkingSet - rss) >> 20} MiB over 9000 rejected decodes");
    }

    static byte[] PngBomb(int w, int h)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)w);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)h);
        ihdr[8] = 8; // bit depth, colour type 0 (gray)
        Chunk(ms, "IHDR", ihdr);
        using (var raw = new MemoryStream())
        {
            using (var z = new ZLibStream(raw, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                var row = new byte[w + 1];
                for (var y = 0; y < h; y++) z.Write(row);
            }
            Chunk(ms, "IDAT", raw.ToArray());
        }
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(len, (uint)data.Length);
        s.Write(len);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(len, Crc32(typed));
        s.Write(len);
    }

    /// <summary>CRC-32 as the PNG specification (annex D) defines it.</summary>
    static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }
        return crc ^ 0xFFFFFFFFu;
    }
}
