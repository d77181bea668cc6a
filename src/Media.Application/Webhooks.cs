using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Media.Contracts.V1;
using Media.Detection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Media.Application;

/// <summary>One configured webhook (<c>Media:Webhooks:N</c>).</summary>
public sealed record WebhookEndpoint
{
    /// <summary>Its name in deliveries and logs: <c>Media:Webhooks:N:Name</c>, else the index <c>N</c>.</summary>
    public string Name { get; init; } = "";
    /// <summary>Absolute <c>http</c> or <c>https</c> URL the JSON is POSTed to.</summary>
    public string Url { get; init; } = "";
    /// <summary>HMAC-SHA256 key (UTF-8 bytes) of the <c>X-Media-Signature</c> header. Required.</summary>
    public string Secret { get; init; } = "";
    /// <summary>Action labels this webhook receives; null or empty: every action except <c>allow</c>.</summary>
    public string[]? Actions { get; init; }

    /// <summary>Whether an item with this resolved action is delivered here: a listed label, or without a list any
    /// actioned item (<see cref="ActionPolicy.IsActioned"/>). An item without an action never is.</summary>
    public bool Accepts(string? action)
    {
        if (ActionPolicy.Normalize(action) is not { } a) return false;
        return Actions is { Length: > 0 } list
            ? list.Any(l => string.Equals(ActionPolicy.Normalize(l), a, StringComparison.Ordinal))
            : ActionPolicy.IsActioned(a);
    }
}

/// <summary>
/// The webhooks and how they are delivered: <c>Media:Webhooks:N:{Url, Secret, Actions, Name}</c> and
/// <c>Media:WebhookDelivery:{TimeoutSeconds, RetryLimit, MinIntervalMs, MaxIntervalMs, IntervalDeltaMs}</c>.
/// Retries are MassTransit's exponential message retry: the n-th retry (n = 1…<see cref="RetryLimit"/>) waits
/// <c>MinIntervalMs + 2^(n−1) · IntervalDeltaMs</c> with the delta jittered by ±20%, at most <see cref="MaxIntervalMs"/>; the
/// defaults wait ≈ 1.5, 2.5, 4.5, 8.5, 16.5, 32.5 s (about 66 s in all) before the message goes to the error queue.
/// </summary>
public sealed record WebhookSettings
{
    public IReadOnlyList<WebhookEndpoint> Endpoints { get; init; } = [];
    /// <summary>Per attempt: connect, send and response headers, seconds (default 10).</summary>
    public double TimeoutSeconds { get; init; } = 10;
    /// <summary>Retries after the first attempt (default 6); 0 sends once.</summary>
    public int RetryLimit { get; init; } = 6;
    /// <summary>First retry delay, milliseconds (default 500).</summary>
    public int MinIntervalMs { get; init; } = 500;
    /// <summary>Longest retry delay, milliseconds (default 60 000).</summary>
    public int MaxIntervalMs { get; init; } = 60_000;
    /// <summary>Growth of the retry delay, milliseconds (default 1000).</summary>
    public int IntervalDeltaMs { get; init; } = 1000;

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    /// <summary>The configured webhook of this name, or null.</summary>
    public WebhookEndpoint? Find(string name) => Endpoints.FirstOrDefault(e => e.Name == name);

    /// <summary>The webhooks an item with this resolved action goes to (<see cref="WebhookEndpoint.Accepts"/>).</summary>
    public IEnumerable<WebhookEndpoint> Targets(string? action) => Endpoints.Where(e => e.Accepts(action));

    /// <summary>Reads <c>Media:Webhooks</c> (each child's key is its default name) and <c>Media:WebhookDelivery</c>, and validates them.</summary>
    /// <exception cref="FormatException">As <see cref="Validated"/>.</exception>
    public static WebhookSettings FromConfiguration(IConfiguration config)
    {
        var endpoints = config.GetSection("Media:Webhooks").GetChildren()
            .Select(c => (c.Get<WebhookEndpoint>() ?? new WebhookEndpoint()) is var e && string.IsNullOrWhiteSpace(e.Name) ? e with { Name = c.Key } : e)
            .ToArray();
        var delivery = config.GetSection("Media:WebhookDelivery").Get<WebhookSettings>() ?? new WebhookSettings();
        return (delivery with { Endpoints = endpoints }).Validated();
    }

    /// <summary>Checks every webhook and the delivery settings and returns them.</summary>
    /// <exception cref="FormatException">A URL that is not absolute http(s) or carries user info, a missing secret, a
    /// repeated name, a bad action label, or a timeout or retry setting out of range; the message names the key.</exception>
    public WebhookSettings Validated()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in Endpoints)
        {
            var key = $"Media:Webhooks:{e.Name}";
            if (string.IsNullOrWhiteSpace(e.Name)) throw new FormatException("Media:Webhooks: a webhook has an empty name");
            if (!names.Add(e.Name)) throw new FormatException($"{key}: two webhooks are named '{e.Name}'");
            CheckUrl(e.Url, $"{key}:Url");
            if (string.IsNullOrEmpty(e.Secret)) throw new FormatException($"{key}:Secret is required: every delivery is signed (X-Media-Signature)");
            foreach (var (label, i) in (e.Actions ?? []).Select((l, i) => (l, i)))
            {
                if (ActionPolicy.Normalize(label) is null) throw new FormatException($"{key}:Actions:{i}: '{label}' is no action; list labels such as block or review");
                ActionPolicy.CheckLabel(label, $"{key}:Actions:{i}");
            }
        }
        if (!(TimeoutSeconds > 0 && TimeoutSeconds <= 300)) throw new FormatException($"Media:WebhookDelivery:TimeoutSeconds {TimeoutSeconds} is not in (0, 300]");
        if (RetryLimit is < 0 or > 100) throw new FormatException($"Media:WebhookDelivery:RetryLimit {RetryLimit} is not in [0, 100]");
        if (MinIntervalMs < 0 || IntervalDeltaMs < 1 || MaxIntervalMs < MinIntervalMs)
            throw new FormatException($"Media:WebhookDelivery: intervals need 0 <= MinIntervalMs ({MinIntervalMs}) <= MaxIntervalMs ({MaxIntervalMs}) and IntervalDeltaMs >= 1 ({IntervalDeltaMs})");
        return this;
    }

    /// <summary>Refuses anything but an absolute http(s) URL with a host and without user info.</summary>
    /// <exception cref="FormatException">The URL is unusable; the message names <paramref name="key"/>.</exception>
    public static Uri CheckUrl(string? url, string key)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new FormatException($"{key}: '{url}' is not an absolute URL");
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            throw new FormatException($"{key}: scheme '{uri.Scheme}' refused; webhooks are POSTed to http or https URLs only");
        if (!string.IsNullOrEmpty(uri.UserInfo))
            throw new FormatException($"{key}: user info in the URL is refused; authenticate receivers by the signature");
        return uri;
    }
}

/// <summary><c>X-Media-Signature: sha256=&lt;hex&gt;</c>: HMAC-SHA256, keyed by the webhook's secret (UTF-8), of the exact body bytes.</summary>
public static class WebhookSignature
{
    public const string Header = "X-Media-Signature";
    public const string DeliveryHeader = "X-Media-Delivery";
    public const string EventHeader = "X-Media-Event";

    /// <summary>The header value for <paramref name="body"/>: <c>sha256=</c> and 64 lower-case hex digits.</summary>
    public static string Sign(ReadOnlySpan<byte> body, string secret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>Whether <paramref name="header"/> is the signature of <paramref name="body"/> (compared in constant time).</summary>
    public static bool Verify(ReadOnlySpan<byte> body, string secret, string? header) =>
        header is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(body, secret)), Encoding.ASCII.GetBytes(header.Trim()));
}

/// <summary>The JSON a webhook receives, and the delivery ids.</summary>
public static class WebhookPayload
{
    public const string Event = "media.actioned";

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>
    /// The delivery id of (submission, webhook): the first 16 bytes of SHA-256("media-webhook\n" + submission + "\n" +
    /// webhook) as a version-8 GUID, so a redelivered result or a retried fan-out yields the same id.
    /// </summary>
    public static Guid DeliveryId(Guid submissionId, string webhook)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"media-webhook\n{submissionId:D}\n{webhook}"), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8 (RFC 9562: custom)
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC variant
        return new Guid(hash[..16], bigEndian: true);
    }

    /// <summary>
    /// The body: <c>{"deliveryId", "webhook", "event": "media.actioned", "action", "submissionId", "correlationId",
    /// "mediaId", "path", "modality", "status", "flags": [{"kind", "method", "of", "ofPath", "distance", "threshold",
    /// "score", "concept", "action", "bank", …}], "processedAt"}</c>; fields that are null are left out.
    /// </summary>
    /// <param name="result">An actioned result (its <c>Action</c> is set).</param>
    /// <param name="webhook">The webhook's name.</param>
    /// <param name="processedAt">When the result was published (UTC).</param>
    public static string Build(MediaProcessed result, string webhook, DateTimeOffset processedAt) =>
        JsonSerializer.Serialize(new Body(DeliveryId(result.SubmissionId, webhook), webhook, Event, result.Action, result.SubmissionId, result.CorrelationId,
            result.MediaId, result.Path, result.Modality, result.Status, result.Flags, processedAt.UtcDateTime), Json);

    sealed record Body(Guid DeliveryId, string Webhook, string Event, string? Action, Guid SubmissionId, Guid CorrelationId, string? MediaId,
        string Path, string? Modality, string Status, MediaFlag[] Flags, DateTime ProcessedAt);
}

/// <summary>A webhook POST failed. <see cref="Permanent"/>: retrying cannot help (a 3xx or 4xx other than 408/425/429, or a
/// delivery this process cannot make), so the message goes to the error queue at once.</summary>
public sealed class WebhookDeliveryException(string message, bool permanent, int? statusCode = null, Exception? inner = null) : Exception(message, inner)
{
    public bool Permanent { get; } = permanent;
    /// <summary>The receiver's HTTP status, when it answered.</summary>
    public int? StatusCode { get; } = statusCode;
}

/// <summary>POSTs signed webhook bodies through <see cref="IHttpClientFactory"/> (client <see cref="ClientName"/>: no redirects, the configured timeout).</summary>
public sealed class WebhookSender(IHttpClientFactory clients, ILogger<WebhookSender> log)
{
    public const string ClientName = "media-webhooks";

    /// <summary>
    /// POSTs <paramref name="body"/> (UTF-8, <c>application/json</c>) to <paramref name="webhook"/>'s URL with
    /// <c>X-Media-Signature</c>, <c>X-Media-Delivery</c> and <c>X-Media-Event</c>; returns the 2xx status.
    /// </summary>
    /// <exception cref="WebhookDeliveryException">A non-2xx answer (permanent for 3xx and 4xx other than 408/425/429), a
    /// transport error or a timeout (transient), or a URL that is not http(s) (permanent).</exception>
    public async Task<int> PostAsync(WebhookEndpoint webhook, Guid deliveryId, string body, CancellationToken cancel)
    {
        Uri url;
        try { url = WebhookSettings.CheckUrl(webhook.Url, $"webhook '{webhook.Name}'"); }
        catch (FormatException ex) { throw new WebhookDeliveryException(ex.Message, permanent: true, inner: ex); }
        var bytes = Encoding.UTF8.GetBytes(body);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new("application/json") { CharSet = "utf-8" };
        request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(bytes, webhook.Secret));
        request.Headers.Add(WebhookSignature.DeliveryHeader, deliveryId.ToString("D"));
        request.Headers.Add(WebhookSignature.EventHeader, WebhookPayload.Event);
        HttpResponseMessage response;
        try
        {
            response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancel.IsCancellationRequested)
        {
            var what = ex is TaskCanceledException ? "timed out" : ex.Message;
            log.LogWarning("webhook {Webhook}: delivery {Delivery} failed: {Error}", webhook.Name, deliveryId, what);
            throw new WebhookDeliveryException($"webhook '{webhook.Name}': {what}", permanent: false, inner: ex);
        }
        using (response)
        {
            var status = (int)response.StatusCode;
            if (status is >= 200 and < 300) return status;
            var transient = status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || status == 425;
            log.LogWarning("webhook {Webhook}: delivery {Delivery} answered {Status}{Final}", webhook.Name, deliveryId, status, transient ? "" : " (not retried)");
            throw new WebhookDeliveryException($"webhook '{webhook.Name}' answered {status} {response.ReasonPhrase}", permanent: !transient, status);
        }
    }
}
