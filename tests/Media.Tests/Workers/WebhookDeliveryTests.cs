using MassTransit;
using MassTransit.Testing;
using Media.Application;
using Media.Contracts.V1;
using Media.Workers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Media.Tests.Workers;

/// <summary>
/// The webhook consumers on MassTransit's test harness (in-memory transport, the production consumer definitions and
/// retry policy) against a real HTTP receiver on loopback.
/// </summary>
public sealed class WebhookDeliveryTests
{
    const string Secret = "test-secret-\u00e9"; // non-ASCII on purpose: the key is the secret's UTF-8 bytes

    /// <summary>Fast retries so the tests do not wait; the schedule itself is MassTransit's.</summary>
    static WebhookSettings Settings(int retries, params WebhookEndpoint[] endpoints) =>
        new WebhookSettings { Endpoints = endpoints, RetryLimit = retries, MinIntervalMs = 1, IntervalDeltaMs = 2, MaxIntervalMs = 20 }.Validated();

    static WebhookEndpoint Hook(string name, string url, params string[] actions) =>
        new() { Name = name, Url = url, Secret = Secret, Actions = actions.Length == 0 ? null : actions };

    static async Task<(ServiceProvider Provider, ITestHarness Harness)> StartAsync(WebhookSettings settings)
    {
        var provider = new ServiceCollection()
            .AddLogging()
            .AddWebhooks(settings)
            .AddMassTransitTestHarness(x =>
            {
                x.AddWebhookConsumers();
                // Reads what MassTransit moves to the delivery endpoint's error queue (no subscription of its own).
                x.AddConsumer<ErrorQueueProbe>().Endpoint(e =>
                {
                    e.Name = MediaBus.WebhookDeliveryQueue + "_error";
                    e.ConfigureConsumeTopology = false;
                });
            })
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        harness.TestTimeout = TimeSpan.FromMinutes(1);
        await harness.Start();
        return (provider, harness);
    }

    static MediaProcessed Result(string? action, string path = "/in/x.jpg") =>
        new(NewId.NextGuid(), NewId.NextGuid(), new string('a', 64), new string('a', 64), path, "image", "indexed",
            action is null ? [] : [new MediaFlag("concept", "embedding:p", Score: 0.91, Threshold: 0.8, Concept: "c", Action: action)], Action: action);

    /// <summary>Waits (up to the harness's test timeout) for <paramref name="count"/> published messages of type T.</summary>
    static async Task<List<T>> PublishedAsync<T>(ITestHarness harness, int count) where T : class
    {
        var seen = new List<T>();
        await foreach (var m in harness.Published.SelectAsync<T>(harness.CancellationToken))
        {
            seen.Add(m.Context.Message);
            if (seen.Count == count) break;
        }
        return seen;
    }

    [Fact]
    public async Task A_receiver_that_fails_its_first_request_still_gets_every_signed_payload_exactly_once()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, n) => n == 1 ? 500 : 200);
        var (provider, harness) = await StartAsync(Settings(5, Hook("0", receiver.Url("/hook"))));
        await using var _ = provider;

        var results = new[] { Result("block", "/in/a.jpg"), Result("block", "/in/b.jpg"), Result("review", "/in/c.jpg") };
        foreach (var r in results) await harness.Bus.Publish(r);
        var delivered = await PublishedAsync<WebhookDelivered>(harness, results.Length);
        await harness.InactivityTask;

        Assert.Equal(results.Length, delivered.Select(d => d.DeliveryId).Distinct().Count());
        var failed = Assert.Single(receiver.Requests, r => r.Status == 500);
        var accepted = receiver.Accepted;
        Assert.Equal(results.Length + 1, receiver.Requests.Count);
        Assert.Equal(results.Length, accepted.Length);
        Assert.Equal(results.Length, accepted.Select(r => r.DeliveryId).Distinct().Count());     // each payload exactly once
        var retried = Assert.Single(accepted, r => r.DeliveryId == failed.DeliveryId);          // the failed one came again ...
        Assert.Equal(failed.Body, retried.Body);                                                  // ... byte for byte
        Assert.False(harness.Published.Select<Fault<WebhookDelivery>>().Any());

        foreach (var request in accepted)
        {
            Assert.True(request.SignedWith(Secret), "signature does not verify: " + request.Signature);
            Assert.False(request.SignedWith("another secret"));
            Assert.Equal("media.actioned", request.Event);
            Assert.StartsWith("application/json", request.ContentType);
            var json = request.Json;
            Assert.Equal(request.DeliveryId, json.GetProperty("deliveryId").GetString());
            var result = Assert.Single(results, r => r.SubmissionId == json.GetProperty("submissionId").GetGuid());
            Assert.Equal((result.Action, result.Path, "0", "indexed"), (json.GetProperty("action").GetString(), json.GetProperty("path").GetString(),
                json.GetProperty("webhook").GetString(), json.GetProperty("status").GetString()));
            var flag = Assert.Single(json.GetProperty("flags").EnumerateArray());
            Assert.Equal(("concept", "c", result.Action), (flag.GetProperty("kind").GetString(), flag.GetProperty("concept").GetString(), flag.GetProperty("action").GetString()));
            Assert.Equal(WebhookPayload.DeliveryId(result.SubmissionId, "0").ToString(), request.DeliveryId);
        }
    }

    [Fact]
    public async Task Each_webhook_gets_only_the_actions_its_filter_names_and_never_allow_or_nothing_by_default()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        var (provider, harness) = await StartAsync(Settings(2,
            Hook("blocks", receiver.Url("/a"), "block"),
            Hook("everything", receiver.Url("/b")),
            Hook("mild", receiver.Url("/c"), "Review", "allow")));
        await using var _ = provider;

        var byAction = new Dictionary<string, MediaProcessed> { ["block"] = Result("block"), ["review"] = Result("review"), ["allow"] = Result("allow"), ["none"] = Result(null) };
        foreach (var r in byAction.Values) await harness.Bus.Publish(r);
        await PublishedAsync<WebhookDelivered>(harness, 5);
        await harness.InactivityTask;

        string[] Actions(string path) => [.. receiver.Requests.Where(r => r.Path == path).Select(r => r.Json.GetProperty("action").GetString()!).Order()];
        Assert.Equal(["block"], Actions("/a"));
        Assert.Equal(["block", "review"], Actions("/b"));
        Assert.Equal(["allow", "review"], Actions("/c"));
        Assert.Equal(5, receiver.Requests.Count);
    }

    [Fact]
    public async Task A_receiver_that_always_fails_sends_the_delivery_to_the_error_queue_after_the_last_retry()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 503);
        var (provider, harness) = await StartAsync(Settings(3, Hook("0", receiver.Url("/down"))));
        await using var _ = provider;

        var result = Result("block");
        await harness.Bus.Publish(result);
        var fault = Assert.Single(await PublishedAsync<Fault<WebhookDelivery>>(harness, 1));
        var dead = harness.GetConsumerHarness<ErrorQueueProbe>();
        Assert.True(await dead.Consumed.Any<WebhookDelivery>());
        await harness.InactivityTask;

        var parked = Assert.Single(dead.Consumed.Select<WebhookDelivery>()).Context.Message;
        Assert.Equal(WebhookPayload.DeliveryId(result.SubmissionId, "0"), parked.DeliveryId);
        Assert.Equal(parked, fault.Message);
        Assert.Contains("503", Assert.Single(fault.Exceptions).Message);
        Assert.Equal(4, receiver.Requests.Count);                                                  // the first attempt and 3 retries
        Assert.Single(receiver.Requests.Select(r => r.DeliveryId).Distinct());
        Assert.Single(receiver.Requests.Select(r => Convert.ToHexString(r.Body)).Distinct());
        Assert.False(harness.Published.Select<WebhookDelivered>().Any());
    }

    [Fact]
    public async Task A_permanent_refusal_is_not_retried_and_goes_to_the_error_queue()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 410);
        var (provider, harness) = await StartAsync(Settings(3, Hook("0", receiver.Url("/gone"))));
        await using var _ = provider;

        await harness.Bus.Publish(Result("review"));
        Assert.True(await harness.GetConsumerHarness<ErrorQueueProbe>().Consumed.Any<WebhookDelivery>());
        await harness.InactivityTask;
        Assert.Single(receiver.Requests);
        Assert.Contains("410", harness.Published.Select<Fault<WebhookDelivery>>().Single().Context.Message.Exceptions.Single().Message);
    }

    [Fact]
    public async Task A_redirect_is_not_followed_and_the_delivery_is_not_retried()
    {
        await using var receiver = await WebhookReceiver.StartAsync((path, _) => path == "/moved" ? 307 : 200);
        var (provider, harness) = await StartAsync(Settings(3, Hook("0", receiver.Url("/moved"))));
        await using var _ = provider;

        await harness.Bus.Publish(Result("block"));
        Assert.True(await harness.GetConsumerHarness<ErrorQueueProbe>().Consumed.Any<WebhookDelivery>());
        await harness.InactivityTask;
        Assert.Equal("/moved", Assert.Single(receiver.Requests).Path);   // nothing was sent to the Location
        Assert.Contains("307", harness.Published.Select<Fault<WebhookDelivery>>().Single().Context.Message.Exceptions.Single().Message);
    }

    [Fact]
    public async Task Malformed_or_unknown_deliveries_go_to_the_error_queue_without_a_request()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        var (provider, harness) = await StartAsync(Settings(3, Hook("0", receiver.Url("/hook"))));
        await using var _ = provider;

        var endpoint = await harness.Bus.GetSendEndpoint(new Uri($"queue:{MediaBus.WebhookDeliveryQueue}"));
        await endpoint.Send(new WebhookDelivery(Guid.NewGuid(), "0", Guid.NewGuid(), "block", ""));                 // no body
        await endpoint.Send(new WebhookDelivery(Guid.NewGuid(), "elsewhere", Guid.NewGuid(), "block", "{}"));     // not configured here
        var faults = await PublishedAsync<Fault<WebhookDelivery>>(harness, 2);
        await harness.InactivityTask;

        Assert.Contains(faults, f => f.Exceptions.Single().Message.Contains("malformed"));
        Assert.Contains(faults, f => f.Exceptions.Single().Message.Contains("'elsewhere' is not configured"));
        Assert.Equal(2, harness.GetConsumerHarness<ErrorQueueProbe>().Consumed.Select<WebhookDelivery>().Count());
        Assert.Empty(receiver.Requests);
    }

    [Fact]
    public void Configuration_reads_webhooks_by_index_and_refuses_what_cannot_be_delivered_safely()
    {
        static WebhookSettings Read(params (string Key, string Value)[] pairs) => WebhookSettings.FromConfiguration(
            new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => KeyValuePair.Create(p.Key, (string?)p.Value))).Build());

        var s = Read(("Media:Webhooks:0:Url", "https://example.invalid/hook"), ("Media:Webhooks:0:Secret", "k"),
            ("Media:Webhooks:1:Url", "http://127.0.0.1:9/x"), ("Media:Webhooks:1:Secret", "k"), ("Media:Webhooks:1:Name", "soc"),
            ("Media:Webhooks:1:Actions:0", "block"), ("Media:WebhookDelivery:RetryLimit", "2"));
        Assert.Equal(["0", "soc"], s.Endpoints.Select(e => e.Name));
        Assert.Equal(["block"], s.Endpoints[1].Actions!);
        Assert.Equal(2, s.RetryLimit);
        Assert.Equal(["0", "soc"], s.Targets("BLOCK").Select(e => e.Name));
        Assert.Equal(["0"], s.Targets("review").Select(e => e.Name));
        Assert.Empty(s.Targets("allow"));
        Assert.Empty(s.Targets(null));

        foreach (var url in new[] { "ftp://example.invalid/x", "file:///etc/passwd", "javascript:alert(1)", "/relative/path", "" })
            Assert.Contains("Media:Webhooks:0:Url", Assert.Throws<FormatException>(() => Read(("Media:Webhooks:0:Url", url), ("Media:Webhooks:0:Secret", "k"))).Message);
        Assert.Contains("user info", Assert.Throws<FormatException>(() => Read(("Media:Webhooks:0:Url", "https://u:p@example.invalid/"), ("Media:Webhooks:0:Secret", "k"))).Message);
        Assert.Contains("Media:Webhooks:0:Secret is required", Assert.Throws<FormatException>(() => Read(("Media:Webhooks:0:Url", "https://example.invalid/"))).Message);
        Assert.Contains("Actions:0", Assert.Throws<FormatException>(() => Read(("Media:Webhooks:0:Url", "https://example.invalid/"), ("Media:Webhooks:0:Secret", "k"),
            ("Media:Webhooks:0:Actions:0", "no way"))).Message);
        Assert.Contains("TimeoutSeconds", Assert.Throws<FormatException>(() => Read(("Media:WebhookDelivery:TimeoutSeconds", "0"))).Message);
    }

    [Fact]
    public void Delivery_ids_are_stable_per_submission_and_webhook()
    {
        var submission = Guid.NewGuid();
        Assert.Equal(WebhookPayload.DeliveryId(submission, "0"), WebhookPayload.DeliveryId(submission, "0"));
        Assert.NotEqual(WebhookPayload.DeliveryId(submission, "0"), WebhookPayload.DeliveryId(submission, "1"));
        Assert.NotEqual(WebhookPayload.DeliveryId(submission, "0"), WebhookPayload.DeliveryId(Guid.NewGuid(), "0"));
        Assert.Equal(8, WebhookPayload.DeliveryId(submission, "0").Version);
    }

    /// <summary>Consumes what lands in <c>media-webhook-delivery_error</c>.</summary>
    public sealed class ErrorQueueProbe : IConsumer<WebhookDelivery>
    {
        public Task Consume(ConsumeContext<WebhookDelivery> context) => Task.CompletedTask;
    }
}
