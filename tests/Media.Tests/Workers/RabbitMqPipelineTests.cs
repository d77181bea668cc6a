using System.Diagnostics;
using System.Text.Json;
using RabbitMQ.Client;

namespace Media.Tests.Workers;

/// <summary>The pipeline as separate worker processes on a real broker: competing encode workers, crashes, restarts, poison messages.</summary>
[Collection("rabbitmq")]
public sealed class RabbitMqPipelineTests(RabbitMqFixture broker) : IDisposable
{
    readonly TempDir _tmp = new();
    readonly List<WorkerProcess> _workers = [];

    WorkerProcess Worker(string name, params string[] args)
    {
        var w = new WorkerProcess(_tmp[$"{name}.log"], [.. args, "--transport", "rabbitmq", "--rabbitmq", broker.Uri, "--pack", Paths.ColorClip]);
        _workers.Add(w);
        return w;
    }

    string Frames(int count, string name)
    {
        var dir = _tmp[name];
        Directory.CreateDirectory(dir);
        Ffmpeg.Run("-f", "lavfi", "-i", "testsrc2=size=1024x576:rate=25", "-frames:v", count.ToString(), "-q:v", "3", Path.Combine(dir, "f%03d.jpg"));
        return dir;
    }

    /// <summary>Runs <c>media ingest --transport rabbitmq --json</c>, calling <paramref name="onLine"/> with the count of result lines as they arrive.</summary>
    (int Code, List<JsonElement> Lines, string Stderr) Ingest(string input, Action<int> onLine) =>
        CliRunner.RunJsonLines(["ingest", "--json", "--transport", "rabbitmq", "--rabbitmq", broker.Uri, input], TimeSpan.FromMinutes(4), onLine);

    long CatalogItems(string data) => CliRunner.Run("stats", "--data", data, "--json").JsonLines()[0].GetProperty("items").GetInt64();

    [Fact]
    public void Two_encode_workers_one_killed_mid_run_every_item_indexed_once_and_answered_once()
    {
        var input = Frames(200, "frames");
        var data = _tmp["data"];
        Worker("detect", "--role", "detect", "--role", "query", "--data", data);
        var doomed = Worker("encode-1", "--role", "encode");
        Worker("encode-2", "--role", "encode");

        var killedAt = -1;
        var r = Ingest(input, n =>
        {
            if (n == 20 && killedAt < 0) { doomed.Kill(); killedAt = n; }
        });

        Assert.Equal(0, r.Code);
        Assert.Equal(20, killedAt);
        Assert.Equal(200, r.Lines.Count);
        Assert.Equal(200, r.Lines.Select(l => l.GetProperty("path").GetString()).Distinct().Count());
        Assert.All(r.Lines, l => Assert.NotEqual("rejected", l.GetProperty("status").GetString()));
        Assert.Equal(r.Lines.Select(l => l.GetProperty("id").GetString()).Distinct().Count(), CatalogItems(data));
        Assert.Equal(200, CatalogItems(data));
    }

    [Fact]
    public void A_broker_restart_mid_run_loses_nothing_and_workers_drain_on_sigterm()
    {
        var input = Frames(120, "frames");
        var data = _tmp["data"];
        var detect = Worker("detect", "--role", "detect", "--role", "query", "--data", data);
        var encode = Worker("encode", "--role", "encode");

        var restarted = false;
        var r = Ingest(input, n =>
        {
            if (n == 15 && !restarted) { restarted = true; broker.RestartApplication(); }
        });

        Assert.True(restarted);
        Assert.Equal(0, r.Code);
        Assert.Equal(120, r.Lines.Count);
        Assert.Equal(120, r.Lines.Select(l => l.GetProperty("path").GetString()).Distinct().Count());
        Assert.Equal(120, CatalogItems(data));

        Assert.True(encode.Terminate(TimeSpan.FromSeconds(30)));
        Assert.True(detect.Terminate(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, encode.ExitCode);
        Assert.Contains("drained, exiting", detect.Log);
    }

    [Fact]
    public async Task A_garbage_message_lands_in_the_error_queue_with_the_exception()
    {
        Worker("encode", "--role", "encode");
        var factory = new ConnectionFactory { Uri = new Uri(broker.Uri) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var props = new BasicProperties { ContentType = "application/vnd.masstransit+json", Persistent = true, MessageId = Guid.NewGuid().ToString() };
        await channel.BasicPublishAsync("", "media-encode", mandatory: true, props, "{ this is not json"u8.ToArray());

        var dead = await PollAsync(connection, "media-encode_error");
        Assert.NotNull(dead);
        Assert.Equal("{ this is not json", System.Text.Encoding.UTF8.GetString(dead!.Body.Span));
        var headers = dead.BasicProperties.Headers!;
        Assert.True(headers.ContainsKey("MT-Fault-Message"), "fault headers: " + string.Join(", ", headers.Keys));
    }

    /// <summary>Takes one message from <paramref name="queue"/>, waiting up to 10 s for it (and for the queue to exist).</summary>
    static async Task<BasicGetResult?> PollAsync(IConnection connection, string queue)
    {
        for (var i = 0; i < 100; i++)
        {
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                if (await channel.BasicGetAsync(queue, autoAck: true) is { } message) return message;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                // not declared yet: MassTransit declares the error queue with the first fault
            }
            await Task.Delay(100);
        }
        return null;
    }

    public void Dispose()
    {
        foreach (var w in _workers) w.Dispose();
        _tmp.Dispose();
    }
}
