using System.Text.Json;
using Media.Codecs;
using Media.Embeddings.Packs;
using Media.Embeddings.Preprocessing;

namespace Media.Tests.Embeddings;

public class ClipImagePreprocessorTests
{
    static readonly ImagePreprocessing Clip = new();

    public static TheoryData<int> PillowCases() => new(Enumerable.Range(0, LoadCases().GetArrayLength()));

    static JsonElement LoadCases() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Paths.RepoRoot, "tests", "Media.Tests", "Fixtures", "pillow_resize.json"))).RootElement.GetProperty("cases");

    [Theory]
    [MemberData(nameof(PillowCases))]
    public void Resize_matches_Pillow_byte_for_byte(int index)
    {
        var c = LoadCases()[index];
        int w = c.GetProperty("width").GetInt32(), h = c.GetProperty("height").GetInt32();
        int ow = c.GetProperty("outWidth").GetInt32(), oh = c.GetProperty("outHeight").GetInt32();
        var image = new RgbImage(w, h, Convert.FromBase64String(c.GetProperty("input").GetString()!));
        var pre = new ClipImagePreprocessor(Clip with { Resample = c.GetProperty("filter").GetString()! });
        var ours = pre.ResizeCropped(image, ow, oh, 0, 0, ow, oh);
        Assert.Equal(Convert.FromBase64String(c.GetProperty("expected").GetString()!), ours);
    }

    [Fact]
    public void Cropped_window_equals_the_crop_of_the_full_resize()
    {
        var rng = new Random(7);
        var px = new byte[50 * 37 * 3];
        rng.NextBytes(px);
        var image = new RgbImage(50, 37, px);
        var pre = new ClipImagePreprocessor(Clip);
        var full = pre.ResizeCropped(image, 31, 23, 0, 0, 31, 23);
        var window = pre.ResizeCropped(image, 31, 23, 5, 3, 20, 17);
        for (var y = 0; y < 17; y++)
            Assert.Equal(full.AsSpan(((y + 3) * 31 + 5) * 3, 60).ToArray(), window.AsSpan(y * 60, 60).ToArray());
    }

    /// <summary>
    /// Worked by hand from Pillow's definition (Keys bicubic, a = −0.5: |x| &lt; 1 → 1.5|x|³ − 2.5|x|² + 1;
    /// 1 ≤ |x| &lt; 2 → −0.5|x|³ + 2.5|x|² − 4|x| + 2): a 4-pixel row halved. scale = 2, support = 2·2 = 4, taps at
    /// (x + 0.5 − center)/2. Output 0: center 1, xmin = 0, xmax = min(⌊5.5⌋, 4) = 4, taps −0.25, 0.25, 0.75, 1.25 →
    /// weights 0.8671875, 0.8671875, 0.2265625, −0.0703125 (sum 1.890625).
    /// On the row [0, 100, 200, 100]: (86.71875 + 45.3125 − 7.03125)/1.890625 = 66.12 → 66.
    /// Output 1: center 3, taps −1.25, −0.75, −0.25, 0.25 → weights −0.0703125, 0.2265625, 0.8671875, 0.8671875:
    /// (22.65625 + 173.4375 + 86.71875)/1.890625 = 149.59 → 150.
    /// </summary>
    [Fact]
    public void Hand_worked_bicubic_halving()
    {
        byte[] row = [0, 0, 0, 100, 100, 100, 200, 200, 200, 100, 100, 100];
        var pre = new ClipImagePreprocessor(Clip);
        var output = pre.ResizeCropped(new RgbImage(4, 1, row), 2, 1, 0, 0, 2, 1);
        Assert.Equal(66, output[0]);
        Assert.Equal(150, output[3]);
    }

    [Fact]
    public void Resize_target_follows_the_shortest_edge()
    {
        Assert.Equal((224, 336), ClipImagePreprocessor.ResizeTarget(200, 300, 224));
        Assert.Equal((298, 224), ClipImagePreprocessor.ResizeTarget(1600, 1201, 224)); // ⌊224·1600/1201⌋
        Assert.Equal((224, 224), ClipImagePreprocessor.ResizeTarget(50, 50, 224));
    }

    [Fact]
    public void Output_is_normalised_nchw()
    {
        // A uniform image: every value of channel c is (v/255 − mean_c)/std_c.
        var px = new byte[300 * 200 * 3];
        for (var i = 0; i < px.Length; i += 3) { px[i] = 255; px[i + 1] = 128; px[i + 2] = 0; }
        var pre = new ClipImagePreprocessor(Clip);
        var tensor = new float[pre.ValuesPerImage];
        pre.Preprocess(new RgbImage(300, 200, px), tensor);
        var plane = 224 * 224;
        Assert.All(tensor[..plane], v => Assert.Equal((1f - Clip.Mean[0]) / Clip.Std[0], v, 4));
        Assert.All(tensor[plane..(2 * plane)], v => Assert.Equal((128f / 255 - Clip.Mean[1]) / Clip.Std[1], v, 4));
        Assert.All(tensor[(2 * plane)..], v => Assert.Equal(-Clip.Mean[2] / Clip.Std[2], v, 4));
    }

    static readonly ImagePreprocessing Nsfwjs = new()
    {
        Size = 3, CropSize = 3, Resize = ImagePreprocessing.ResizeStretch, Resample = ImagePreprocessing.ResampleBilinearAlignCorners,
        Mean = [0, 0, 0], Std = [1, 1, 1],
    };

    [Fact]
    public void Align_corners_keeps_the_corner_pixels_and_interpolates_between_them()
    {
        // 2×2 → 3×3 with align corners: the source corners land on the output corners, the middle is the mean of all four.
        var px = new byte[] { 0, 10, 200, 100, 20, 200, 50, 30, 0, 255, 40, 0 };
        var pre = new ClipImagePreprocessor(Nsfwjs);
        var t = new float[pre.ValuesPerImage];
        pre.Preprocess(new RgbImage(2, 2, px), t);
        Assert.Equal([0f, 50 / 255f, 100 / 255f, 25 / 255f, 101.25f / 255, 177.5f / 255, 50 / 255f, 152.5f / 255, 1f], t[..9], new ToleranceComparer(1e-6f));
        Assert.Equal(25f / 255, t[9 + 4], 6);   // green middle: (10 + 20 + 30 + 40) / 4
        Assert.Equal(100f / 255, t[18 + 4], 6); // blue middle: (200 + 200 + 0 + 0) / 4
    }

    [Fact]
    public void Stretch_ignores_the_aspect_ratio_and_mean_std_apply_after_the_resize()
    {
        // A 40×10 image whose left half is black and right half white: stretched to 3×3 the middle column is the
        // interpolation at x = 19.5 (align corners: 39/2), between black (x 19) and white (x 20), so 0.5 on every row.
        var px = new byte[40 * 10 * 3];
        for (var y = 0; y < 10; y++)
            for (var x = 20; x < 40; x++)
                for (var c = 0; c < 3; c++) px[(y * 40 + x) * 3 + c] = 255;
        var pre = new ClipImagePreprocessor(Nsfwjs with { Mean = [0.5f, 0.5f, 0.5f], Std = [0.25f, 0.25f, 0.25f] });
        var t = new float[pre.ValuesPerImage];
        pre.Preprocess(new RgbImage(40, 10, px), t);
        for (var row = 0; row < 3; row++)
            Assert.Equal([-2f, 0f, 2f], t[(row * 3)..(row * 3 + 3)]);
        Assert.Throws<InvalidOperationException>(() => pre.ResizeCropped(new RgbImage(40, 10, px), 3, 3, 0, 0, 3, 3));
    }

    sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float v) => 0;
    }
}

