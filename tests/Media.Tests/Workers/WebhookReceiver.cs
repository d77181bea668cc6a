using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Media.Tests.Workers;

/// <summary>
/// A real HTTP webhook receiver (<see cref="HttpListener"/>) on 127.0.0.1 at a port the OS picked as free. Records every
/// request and answers with the status <c>respond(path, n)</c> gives for the n-th request (1-based) to that path; status 0
/// holds the request unanswered (a receiver that hangs) until the receiver is disposed.
/// </summary>
sealed class WebhookReceiver : IAsyncDisposable
{
    /// <summary>One request as received, and the status it was answered with.</summary>
    public sealed record Request(string Path, byte[] Body, string? Signature, string? DeliveryId, string? Event, string? ContentType, int Status)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();

        /// <summary>Whether the signature header is HMAC-SHA256 of the body under <paramref name="secret"/>, computed here independently.</summary>
        public bool SignedWith(string secret) =>
            Signature == "sha256=" + Convert.ToHexStringLower(new HMACSHA256(Encoding.UTF8.GetBytes(secret)).ComputeHash(Body));
    }

    readonly HttpListener _listener;
    readonly Func<string, int, int> _respond;
    readonly ConcurrentDictionary<string, int> _counts = new();
    readonly Task _loop;
    public ConcurrentQueue<Request> Requests { get; } = new();
    public string BaseUrl { get; }

    WebhookReceiver(HttpListener listener, string baseUrl, Func<string, int, int> respond)
    {
        _listener = listener;
        BaseUrl = baseUrl;
        _respond = respond;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Starts a receiver; <paramref name="respond"/>(path, n) is the status of the n-th request to path.</summary>
    public static Task<WebhookReceiver> StartAsync(Func<string, int, int> respond)
    {
        for (var attempt = 0; ; attempt++)
        {
            // HttpListener cannot bind port 0: take a port the OS reports free, and try another if it was taken meanwhile.
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var baseUrl = $"http://127.0.0.1:{port}";
            var listener = new HttpListener();
            listener.Prefixes.Add(baseUrl + "/");
            try
            {
                listener.Start();
                return Task.FromResult(new WebhookReceiver(listener, baseUrl, respond));
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = Task.Run(() => HandleAsync(ctx));
        }
    }

    async Task HandleAsync(HttpListenerContext ctx)
    {
        try
        {
            using var body = new MemoryStream();
            await ctx.Request.InputStream.CopyToAsync(body);
            var path = ctx.Request.Url!.AbsolutePath;
            var status = _respond(path, _counts.AddOrUpdate(path, 1, (_, n) => n + 1));
            Requests.Enqueue(new Request(path, body.ToArray(), ctx.Request.Headers["X-Media-Signature"], ctx.Request.Headers["X-Media-Delivery"],
                ctx.Request.Headers["X-Media-Event"], ctx.Request.ContentType, status));
            if (status == 0) return; // held: never answered
            ctx.Response.StatusCode = status;
            if (status is >= 300 and < 400) ctx.Response.RedirectLocation = BaseUrl + "/redirected";
            ctx.Response.ContentLength64 = 0;
            ctx.Response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or IOException)
        {
            // the client went away
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds; throws after <paramref name="limit"/> (a safety net, not a measurement).</summary>
    public async Task WaitUntilAsync(Func<WebhookReceiver, bool> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition(this))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"receiver: condition not met; {Requests.Count} requests: " +
                string.Join(", ", Requests.Select(r => $"{r.Path} {r.DeliveryId} {r.Status}")));
            await Task.Delay(100);
        }
    }

    public string Url(string path) => BaseUrl + path;

    /// <summary>Requests answered 2xx.</summary>
    public Request[] Accepted => [.. Requests.Where(r => r.Status is >= 200 and < 300)];

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
