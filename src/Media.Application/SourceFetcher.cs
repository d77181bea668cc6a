using System.Net;
using System.Net.Sockets;
using Media.Codecs;

namespace Media.Application;

/// <summary>How <see cref="SourceFetcher"/> downloads a submitted URI (configuration <c>Media:Api:Fetch</c>).</summary>
public sealed record FetchSettings
{
    /// <summary>Whole download, connect to last byte (default 15 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Largest body accepted, bytes (default 32 MiB).</summary>
    public long MaxBytes { get; init; } = 32L << 20;
    /// <summary>Redirects followed (default 3); each new connection is checked like the first.</summary>
    public int MaxRedirects { get; init; } = 3;
    /// <summary>
    /// Networks that may be reached although they are loopback, link-local, private or otherwise not public
    /// (CIDR, e.g. <c>10.1.0.0/16</c>, <c>127.0.0.1/32</c>). Empty by default: only public addresses.
    /// </summary>
    public IReadOnlyList<string> AllowNetworks { get; init; } = [];
}

/// <summary>A submitted source was refused before any byte was fetched (a scheme, a server path, a non-public address); the message says why.</summary>
public sealed class SourceRefusedException(string message) : Exception(message);

/// <summary>
/// Downloads http(s) URIs for the API without letting a caller reach the server's own network (SSRF): only http and
/// https; the host name is resolved here and <b>every address it resolves to</b> must be public (not loopback, link-local,
/// private, shared, multicast, unspecified or reserved, IPv4-mapped IPv6 included) unless it lies in a configured
/// <see cref="FetchSettings.AllowNetworks"/>; the connection then goes to the checked address itself, so a DNS answer that
/// changes between the check and the connect (rebinding) cannot slip through, and redirects are checked the same way
/// at their own connect. A timeout bounds the whole download and a size cap its body. No proxy, no cookies.
/// Thread-safe; one instance per process.
/// </summary>
public sealed class SourceFetcher : IDisposable
{
    readonly FetchSettings _settings;
    readonly IPNetwork[] _allowed;
    readonly HttpClient _http;

    /// <exception cref="FormatException">A network in <see cref="FetchSettings.AllowNetworks"/> is not CIDR notation.</exception>
    public SourceFetcher(FetchSettings settings)
    {
        _settings = settings;
        _allowed = [.. settings.AllowNetworks.Select(n => IPNetwork.TryParse(n, out var net) ? net : throw new FormatException($"Media:Api:Fetch:AllowNetworks: '{n}' is not a network in CIDR notation (e.g. 10.0.0.0/8)"))];
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = settings.MaxRedirects > 0,
            MaxAutomaticRedirections = Math.Max(1, settings.MaxRedirects),
            ConnectTimeout = settings.Timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectCallback = ConnectAsync,
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("media-fetch/1");
    }

    /// <summary>Checks a URI without fetching it: absolute, http or https, and (for an address literal) an allowed address.</summary>
    /// <exception cref="SourceRefusedException">The reason it is refused.</exception>
    public Uri Check(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var u) || u.IsFile || u.IsUnc)
            throw new SourceRefusedException($"'{uri}' is not an absolute http(s) URI (a source over HTTP is never a server path)");
        if (u.Scheme is not ("http" or "https")) throw new SourceRefusedException($"URI scheme '{u.Scheme}' is refused: only http and https are fetched");
        if (IPAddress.TryParse(u.IdnHost.Trim('[', ']'), out var literal)) CheckAddress(u.IdnHost, literal);
        return u;
    }

    /// <summary>Downloads <paramref name="uri"/>.</summary>
    /// <returns>The body and the final URI's last path segment (a name for the upload).</returns>
    /// <exception cref="SourceRefusedException">Not http(s), or the host resolves to an address that is not allowed (also after a redirect).</exception>
    /// <exception cref="MediaRejectedException">Unreachable, an HTTP error status, over the size cap, or over the timeout.</exception>
    public async Task<(byte[] Bytes, string Name)> FetchAsync(string uri, CancellationToken cancel = default)
    {
        var u = Check(uri);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(_settings.Timeout);
        try
        {
            using var response = await _http.GetAsync(u, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode) throw new MediaRejectedException($"cannot download {u.Host}: HTTP {(int)response.StatusCode}");
            if (response.Content.Headers.ContentLength > _settings.MaxBytes)
                throw new MediaRejectedException($"body is {response.Content.Headers.ContentLength} bytes, over the {_settings.MaxBytes}-byte limit");
            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = await stream.ReadAsync(chunk, timeout.Token)) > 0)
            {
                if (buffer.Length + n > _settings.MaxBytes) throw new MediaRejectedException($"body is over the {_settings.MaxBytes}-byte limit");
                buffer.Write(chunk, 0, n);
            }
            var final = response.RequestMessage?.RequestUri ?? u;
            return (buffer.ToArray(), Uri.UnescapeDataString(final.Segments.LastOrDefault()?.Trim('/') ?? ""));
        }
        catch (HttpRequestException ex) when (ex.InnerException is SourceRefusedException refused)
        {
            throw refused;
        }
        catch (HttpRequestException ex)
        {
            throw new MediaRejectedException($"cannot download {u.Host}: {ex.Message}", ex);
        }
        catch (OperationCanceledException ex) when (!cancel.IsCancellationRequested)
        {
            throw new MediaRejectedException($"download from {u.Host} timed out after {_settings.Timeout.TotalSeconds:0.#} s", ex);
        }
    }

    /// <summary>Resolves the host, refuses it when any of its addresses is not allowed, and connects to a checked address.</summary>
    async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancel)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancel);
        if (addresses.Length == 0) throw new SourceRefusedException($"host '{host}' has no address");
        foreach (var a in addresses) CheckAddress(host, a);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancel);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    void CheckAddress(string host, IPAddress address)
    {
        var a = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        if (_allowed.Any(n => n.Contains(a))) return;
        if (NonPublic(a) is { } what)
            throw new SourceRefusedException($"host '{host}' resolves to {a}, a {what} address, which is refused (Media:Api:Fetch:AllowNetworks allows chosen networks)");
    }

    /// <summary>What kind of non-public address <paramref name="a"/> is, or null when it is public.</summary>
    internal static string? NonPublic(IPAddress a)
    {
        if (IPAddress.IsLoopback(a)) return "loopback";
        if (a.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = a.GetAddressBytes();
            return (b[0], b[1]) switch
            {
                (0, _) => "unspecified",
                (10, _) => "private",
                (100, >= 64 and < 128) => "shared (carrier-grade NAT)",
                (169, 254) => "link-local",
                (172, >= 16 and < 32) => "private",
                (192, 168) => "private",
                (192, 0) when b[2] is 0 or 2 => "reserved",
                (198, 18 or 19) => "benchmarking",
                (>= 224, _) => "multicast or reserved",
                _ => null,
            };
        }
        if (a.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (a.Equals(IPAddress.IPv6None) || a.Equals(IPAddress.IPv6Any)) return "unspecified";
            if (a.IsIPv6LinkLocal) return "link-local";
            if (a.IsIPv6SiteLocal) return "site-local";
            if (a.IsIPv6Multicast) return "multicast";
            if (a.IsIPv6UniqueLocal) return "private (unique local)";
            var b = a.GetAddressBytes();
            if (b[0] == 0x20 && b[1] == 0x02) return "6to4"; // embeds an IPv4 address that may be private
            if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) return "NAT64"; // 64:ff9b::/96 likewise
            return null;
        }
        return "non-IP";
    }

    public void Dispose() => _http.Dispose();
}
