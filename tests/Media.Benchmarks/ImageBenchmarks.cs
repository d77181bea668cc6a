using BenchmarkDotNet.Attributes;
using Media.Codecs;
using Media.Hashing;
using Media.Embeddings.Packs;
using Media.Embeddings.Preprocessing;

namespace Media.Benchmarks;

/// <summary>
/// Per image: decode + CLIP preprocessing (224², bicubic, center crop, normalise), PDQ, and the ffmpeg CLI
/// doing the same decode and shortest-side resize + crop to raw RGB (what a user would otherwise reach for).
/// </summary>
[MemoryDiagnoser, ShortRunJob]
public class ImageBenchmarks
{
    readonly ImageDecoder _decoder = new();
    readonly ClipImagePreprocessor _clip = new(new ImagePreprocessing());
    readonly float[] _tensor = new float[3 * 224 * 224];
    byte[] _bytes = [];
    string _path = "";

    [Params("jpeg-12mp", "png-1mp")]
    public string Input { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _path = Input == "jpeg-12mp" ? BenchData.Jpeg12MP : BenchData.Png1MP;
        _bytes = File.ReadAllBytes(_path);
    }

    [Benchmark(Description = "decode (scaled) + CLIP preprocess")]
    public float DecodeAndPreprocess()
    {
        var image = _decoder.Decode(_bytes, new DecodeOptions { MinShortSide = 224 }).Image;
        _clip.Preprocess(image, _tensor);
        return _tensor[0];
    }

    [Benchmark(Description = "decode (full) + PDQ")]
    public int DecodeAndPdq() => PdqHasher.Hash(_decoder.Decode(_bytes, PdqImage.DecodeOptions).Image).Quality;

    [Benchmark(Baseline = true, Description = "ffmpeg CLI decode + resize + crop")]
    public int FfmpegDecodeAndResize() => BenchData.Ffmpeg(["-i", _path, "-vf", "scale=w=224:h=224:force_original_aspect_ratio=increase:flags=bicubic,crop=224:224", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]).Length;
}
