using Media.Application;
using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using MassTransit;
using Media.Contracts.V1;
using Media.Embeddings.Runtime;
using Media.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using IHost = Microsoft.Extensions.Hosting.IHost;

namespace Media.Benchmarks;

/// <summary>
/// End-to-end ingest throughput of small images (320×240 JPEG, color-clip fixture pack) through RabbitMQ (a private
/// broker on loopback, durable queues, publisher confirms) next to the in-memory transport. Per item: items/s = 1 / mean.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class TransportBenchmarks
{
    const int Items = 200;
    const int BrokerPort = 27672;
    string[] _images = [];
    IHost? _host;
    string _data = "";
    string _brokerDir = "";

    [Params("inmemory", "rabbitmq")]
    public string Transport { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var dir = Path.Combine(BenchData.Root, "small-frames");
        if (!Directory.Exists(dir) || Directory.GetFiles(dir).Length < Items)
        {
            Directory.CreateDirectory(dir);
            BenchData.Ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", Items.ToString(), "-q:v", "3", Path.Combine(dir, "f%03d.jpg")]);
        }
        _images = Directory.GetFiles(dir).Order().Take(Items).ToArray();
        if (Transport == "rabbitmq")
        {
            _brokerDir = Path.Combine(BenchData.Root, "rabbitmq-" + Guid.NewGuid().ToString("N"));
            Broker("start");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (Transport == "rabbitmq") Broker("stop");
    }

    void Broker(string verb)
    {
        using var p = Process.Start(Path.Combine(BenchData.RepoRoot, "tools", "rabbitmq-local.sh"), [verb, _brokerDir, BrokerPort.ToString()]);
        p.WaitForExit();
        if (p.ExitCode != 0 && verb == "start") throw new InvalidOperationException("RabbitMQ did not start");
    }

    [IterationSetup]
    public void Start()
    {
        _data = Path.Combine(BenchData.Root, "transport-data-" + Guid.NewGuid().ToString("N"));
        _host = MediaHost.Build(new MediaServiceOptions
        {
            DataDirectory = _data,
            PackDirectories = [Path.Combine(BenchData.RepoRoot, "models", "fixtures", "color-clip")],
            Sessions = new SessionSettings { Device = ExecutionDevice.Cpu, AllowSpinning = false },
            Transport = Transport,
            RabbitMqUri = $"amqp://guest:guest@127.0.0.1:{BrokerPort}/",
        }, NullLoggerFactory.Instance, trackSubmissions: true);
        _host.StartAsync().GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "ingest small images end to end")]
    public int Ingest()
    {
        var results = Task.WhenAll(MediaHost.SubmitFilesAsync(_host!, _images).GetAwaiter().GetResult()).GetAwaiter().GetResult();
        if (results.Any(r => r.Status == MediaStatus.Rejected)) throw new InvalidOperationException("a bench image was rejected");
        return results.Length;
    }

    [IterationCleanup]
    public void Stop()
    {
        MediaHost.StopAndDisposeAsync(_host!).GetAwaiter().GetResult();
        Directory.Delete(_data, recursive: true);
    }
}
