using Media.Application;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using IHost = Microsoft.Extensions.Hosting.IHost;
using MassTransit;
using Media.Contracts.V1;
using Media.Embeddings.Packs;
using Media.Embeddings.Preprocessing;
using Media.Embeddings.Runtime;
using Media.Codecs;
using Media.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Media.Benchmarks;

/// <summary>
/// Ingest throughput of the embedded pipeline (in-memory bus, SQLite, decode + PDQ + preprocessing + inference +
/// detection) next to encoder-only throughput (preprocessed tensors straight into ONNX Runtime, batches of 16) on a pack
/// with CLIP ViT-B/32's exact cost. Times are per image: images/s = 1 / mean. The pipeline's overhead is the gap.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class PipelineBenchmarks
{
    const int Images = 96;
    string[] _photos = [];
    string _pack = "";
    ModelPack? _encoderPack;
    float[] _tensors = [];
    IHost? _host;
    string _data = "";

    [GlobalSetup]
    public void Setup()
    {
        _pack = SyntheticClip.Ensure();
        _photos = SyntheticClip.Photos();
        _encoderPack = ModelPack.Load(_pack, new OnnxSessionFactory(new SessionSettings { Device = ExecutionDevice.Cpu }));
        var pre = new ClipImagePreprocessor(_encoderPack.Image!.Preprocessing);
        _tensors = new float[Images * pre.ValuesPerImage];
        var decoder = new ImageDecoder();
        for (var i = 0; i < Images; i++)
            pre.Preprocess(decoder.Decode(File.ReadAllBytes(_photos[i]), new DecodeOptions { MinShortSide = 224 }).Image, _tensors.AsSpan(i * pre.ValuesPerImage, pre.ValuesPerImage));
    }

    [GlobalCleanup]
    public void Cleanup() => _encoderPack?.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = Images, Description = "encoder only (ONNX Runtime, batch 16)")]
    public int EncoderOnly()
    {
        var n = 0;
        for (var start = 0; start < Images; start += 16)
        {
            var batch = _tensors.AsSpan(start * _encoderPack!.Image!.ValuesPerImage, 16 * _encoderPack.Image.ValuesPerImage).ToArray();
            n += _encoderPack.Image.Encode(batch, 16).Length;
        }
        return n;
    }

    [IterationSetup(Target = nameof(Ingest))]
    public void StartPipeline()
    {
        _data = Path.Combine(BenchData.Root, "ingest-data-" + Guid.NewGuid().ToString("N"));
        _host = MediaHost.Build(new MediaServiceOptions { DataDirectory = _data, PackDirectories = [_pack], Sessions = new SessionSettings { Device = ExecutionDevice.Cpu, AllowSpinning = false } },
            NullLoggerFactory.Instance, trackSubmissions: true);
        _host.StartAsync().GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = Images, Description = "ingest: embedded pipeline end to end")]
    public int Ingest()
    {
        var results = Task.WhenAll(MediaHost.SubmitFilesAsync(_host!, _photos).GetAwaiter().GetResult()).GetAwaiter().GetResult();
        if (results.Any(r => r.Status == MediaStatus.Rejected)) throw new InvalidOperationException("a bench image was rejected");
        return results.Length;
    }

    [IterationCleanup(Target = nameof(Ingest))]
    public void StopPipeline()
    {
        MediaHost.StopAndDisposeAsync(_host!).GetAwaiter().GetResult();
        Directory.Delete(_data, recursive: true);
    }
}
