using System.Diagnostics;
using System.Net;
using Media.Application;
using Media.Codecs;

namespace Media.Tests.Application;

/// <summary>The embedding map's PCA on data with known principal axes, its cost at the default sample size, and the fetcher's address rules.</summary>
public sealed class EmbeddingMapTests
{
    /// <summary>Points spread 5 along axis u and 2 along axis v (orthogonal, random in D = 64), plus small noise, around an offset.</summary>
    static (float[][] Rows, double[] U, double[] V) Planted(int n, int d, int seed)
    {
        var rng = new Random(seed);
        double[] Unit()
        {
            var x = Enumerable.Range(0, d).Select(_ => rng.NextDouble() - 0.5).ToArray();
            var norm = Math.Sqrt(x.Sum(a => a * a));
            return [.. x.Select(a => a / norm)];
        }
        var u = Unit();
        var v = Unit();
        var dot = u.Zip(v, (a, b) => a * b).Sum();
        v = [.. v.Select((b, i) => b - dot * u[i])];
        var vn = Math.Sqrt(v.Sum(a => a * a));
        v = [.. v.Select(b => b / vn)];
        var rows = new float[n][];
        for (var i = 0; i < n; i++)
        {
            double a = Gauss(rng) * 5, b = Gauss(rng) * 2;
            rows[i] = [.. Enumerable.Range(0, d).Select(j => (float)(3 + a * u[j] + b * v[j] + 0.05 * Gauss(rng)))];
        }
        return (rows, u, v);
    }

    static double Gauss(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    [Fact]
    public void Pca2_recovers_the_planted_axes_and_their_variances()
    {
        var (rows, u, v) = Planted(3000, 64, 7);
        var pca = EmbeddingMap.Pca2(rows);
        double Cos(double[] a, double[] b) => Math.Abs(a.Zip(b, (x, y) => x * y).Sum());
        Assert.True(Cos(pca.Axes[0], u) > 0.999, $"PC1·u = {Cos(pca.Axes[0], u)}");
        Assert.True(Cos(pca.Axes[1], v) > 0.999, $"PC2·v = {Cos(pca.Axes[1], v)}");
        Assert.InRange(pca.Variances[0], 25 * 0.9, 25 * 1.1);
        Assert.InRange(pca.Variances[1], 4 * 0.9, 4 * 1.1);
        Assert.InRange(pca.TotalVariance, 29 * 0.9, 29 * 1.1 + 64 * 0.0025 * 1.2);
        Assert.InRange(Cos(pca.Axes[0], pca.Axes[1]), 0, 1e-9);
        Assert.All(pca.Mean, m => Assert.InRange(m, 2.5, 3.5));
    }

    [Fact]
    public void Pca2_refuses_too_few_or_ragged_rows()
    {
        Assert.Throws<ArgumentException>(() => EmbeddingMap.Pca2([[1f, 2f]]));
        Assert.Throws<ArgumentException>(() => EmbeddingMap.Pca2([[1f, 2f], [1f, 2f, 3f]]));
    }

    [Fact]
    public void Pca2_of_a_default_sample_of_clip_sized_vectors_takes_well_under_a_second_of_cpu()
    {
        var (rows, _, _) = Planted(2000, 512, 3);
        EmbeddingMap.Pca2(rows[..50]); // warm up
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        EmbeddingMap.Pca2(rows);
        var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        Assert.True(used < TimeSpan.FromSeconds(3), $"{used.TotalMilliseconds:0} ms of CPU for 2000×512");
    }

    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.255.0.9", "loopback")]
    [InlineData("::1", "loopback")]
    [InlineData("10.0.0.1", "private")]
    [InlineData("172.16.5.4", "private")]
    [InlineData("172.31.255.255", "private")]
    [InlineData("192.168.1.1", "private")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("100.64.0.1", "shared (carrier-grade NAT)")]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("224.0.0.1", "multicast or reserved")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("fd00::1", "private (unique local)")]
    [InlineData("2002:7f00:1::", "6to4")]
    [InlineData("8.8.8.8", null)]
    [InlineData("172.32.0.1", null)]
    [InlineData("2a00:1450:4001:80b::200e", null)]
    public void Non_public_addresses_are_named(string address, string? kind) =>
        Assert.Equal(kind, SourceFetcher.NonPublic(IPAddress.Parse(address)));

    [Fact]
    public void Allowed_networks_open_only_themselves()
    {
        using var fetcher = new SourceFetcher(new FetchSettings { AllowNetworks = ["127.0.0.0/8"] });
        Assert.Equal("http://127.0.0.1:8080/a", fetcher.Check("http://127.0.0.1:8080/a").ToString());
        Assert.Contains("private", Assert.Throws<SourceRefusedException>(() => fetcher.Check("http://10.0.0.1/a")).Message);
        Assert.Throws<FormatException>(() => new SourceFetcher(new FetchSettings { AllowNetworks = ["not a network"] }));
    }

    [Fact]
    public void Thumbnails_average_what_each_pixel_covers_and_never_upscale()
    {
        // 4×2 → fits 2 wide: each output pixel is the mean of a 2×2 block.
        var src = new RgbImage(4, 2, [0, 0, 0, 100, 100, 100, 10, 20, 30, 10, 20, 30, 200, 200, 200, 100, 100, 100, 10, 20, 30, 50, 60, 70]);
        var fit = Thumbnail.Fit(src, 2);
        Assert.Equal((2, 1), (fit.Width, fit.Height));
        Assert.Equal(new byte[] { 100, 100, 100, 20, 30, 40 }, fit.Pixels);
        Assert.Same(src, Thumbnail.Fit(src, 4));
        var webp = Thumbnail.EncodeWebP(src, 90);
        Assert.Equal((4, 2), (new ImageDecoder().Decode(webp).Width, new ImageDecoder().Decode(webp).Height));
    }

    [Fact]
    public void A_header_over_the_pixel_limit_is_refused_before_decoding()
    {
        var bomb = Api.ApiMaterial.PngBomb(30000);
        var decoder = new ImageDecoder();
        var ex = Assert.Throws<MediaRejectedException>(() => decoder.ReadHeader(bomb));
        Assert.Contains("30000×30000 = 900000000 pixels, over the 100000000-pixel limit", ex.Message);
        var ok = Api.ApiMaterial.Blocks(Api.ApiMaterial.Red, 1, 96);
        Assert.Equal((MediaFormat.WebP, 96, 96), decoder.ReadHeader(ok));
        Assert.Throws<MediaRejectedException>(() => decoder.ReadHeader("garbage"u8));
    }
}
