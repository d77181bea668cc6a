using Media.Tests.Cli;

namespace Media.Tests.Workers;

/// <summary>Webhook delivery by <c>media serve</c> workers on a real broker, including a worker killed mid-POST.</summary>
[Collection("rabbitmq")]
public sealed class RabbitMqWebhookTests(RabbitMqFixture broker) : IDisposable
{
    const string Secret = "rabbit-secret";
    readonly TempDir _tmp = new();
    readonly List<WorkerProcess> _workers = [];

    WorkerProcess Worker(string name, Dictionary<string, string> env, params string[] args)
    {
        var w = new WorkerProcess(_tmp[$"{name}.log"], env, [.. args, "--transport", "rabbitmq", "--rabbitmq", broker.Uri]);
        _workers.Add(w);
        return w;
    }

    [Fact]
    public async Task A_worker_killed_during_a_POST_loses_nothing_another_worker_delivers_it_with_the_same_id_and_bytes()
    {
        var input = WebhookCliTests.Inputs(_tmp);
        // The first POST hangs (the worker dies while waiting for it); every later one is accepted.
        await using var receiver = await WebhookReceiver.StartAsync((_, n) => n == 1 ? 0 : 200);
        var env = new Dictionary<string, string>
        {
            ["Media__Webhooks__0__Url"] = receiver.Url("/hook"),
            ["Media__Webhooks__0__Secret"] = Secret,
            ["Media__WebhookDelivery__TimeoutSeconds"] = "120",
            ["Media__WebhookDelivery__MinIntervalMs"] = "10",
            ["Media__WebhookDelivery__IntervalDeltaMs"] = "10",
        };
        var doomed = Worker("all", env, "--role", "all", "--data", _tmp["data"], "--pack", Paths.ColorClip, "--allow-nonsemantic", "--policy", _tmp["policy.json"]);

        var ingest = CliRunner.Run("ingest", "--json", "--transport", "rabbitmq", "--rabbitmq", broker.Uri, input);
        Assert.True(ingest.ExitCode == 0, ingest.Stderr);
        var actioned = ingest.JsonLines().Where(l => l.GetProperty("action").ValueKind == System.Text.Json.JsonValueKind.String).ToArray();
        Assert.Equal(2, actioned.Length);

        await receiver.WaitUntilAsync(r => r.Requests.Any(q => q.Status == 0) && r.Accepted.Length >= 1, TimeSpan.FromSeconds(60));
        doomed.Kill();
        var held = receiver.Requests.Single(q => q.Status == 0);

        Worker("webhooks", env, "--role", "webhooks");
        await receiver.WaitUntilAsync(r => r.Accepted.Any(q => q.DeliveryId == held.DeliveryId), TimeSpan.FromSeconds(60));

        var accepted = receiver.Accepted;
        var redelivered = Assert.Single(accepted, q => q.DeliveryId == held.DeliveryId);     // delivered once, by the second worker
        Assert.Equal(held.Body, redelivered.Body);
        Assert.Equal(2, accepted.Select(q => q.DeliveryId).Distinct().Count());               // both actioned items arrived
        Assert.All(accepted, q => Assert.True(q.SignedWith(Secret)));
        Assert.Equal(actioned.Select(l => l.GetProperty("path").GetString()).Order(),
            accepted.Select(q => q.Json.GetProperty("path").GetString()).Distinct().Order());
    }

    public void Dispose()
    {
        foreach (var w in _workers) w.Dispose();
        _tmp.Dispose();
    }
}
