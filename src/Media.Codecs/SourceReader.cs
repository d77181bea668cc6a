namespace Media.Codecs;

/// <summary>Reads media bytes from a file path, a <c>file:</c> or <c>http(s):</c> URI, refusing anything over the byte limit.</summary>
public sealed class SourceReader(DecodeLimits? limits = null, HttpClient? http = null)
{
    static readonly HttpClient SharedHttp = new() { Timeout = TimeSpan.FromSeconds(30) };
    readonly DecodeLimits _limits = limits ?? DecodeLimits.Default;
    readonly HttpClient _http = http ?? SharedHttp;

    /// <summary>Reads a whole file, refusing one over the limit before reading it.</summary>
    /// <exception cref="MediaRejectedException">Missing, unreadable or too large.</exception>
    public byte[] ReadFile(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new MediaRejectedException(Directory.Exists(path) ? "is a folder" : "no such file");
            if (info.Length > _limits.MaxEncodedBytes) throw new MediaRejectedException($"file is {info.Length} bytes, over the {_limits.MaxEncodedBytes}-byte limit");
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MediaRejectedException($"cannot read: {ex.Message}", ex);
        }
    }

    /// <summary>Downloads an http(s) URI or reads a file URI, refusing bodies over the limit.</summary>
    /// <exception cref="MediaRejectedException">Bad URI, unreachable, HTTP error or too large.</exception>
    public async Task<byte[]> ReadUriAsync(string uri, CancellationToken cancel = default)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var u)) throw new MediaRejectedException($"not an absolute URI: {uri}");
        if (u.IsFile) return ReadFile(u.LocalPath);
        if (u.Scheme is not ("http" or "https")) throw new MediaRejectedException($"unsupported URI scheme '{u.Scheme}'");
        try
        {
            using var response = await _http.GetAsync(u, HttpCompletionOption.ResponseHeadersRead, cancel);
            if (!response.IsSuccessStatusCode) throw new MediaRejectedException($"HTTP {(int)response.StatusCode} from {u.Host}");
            if (response.Content.Headers.ContentLength > _limits.MaxEncodedBytes) throw new MediaRejectedException($"body is {response.Content.Headers.ContentLength} bytes, over the {_limits.MaxEncodedBytes}-byte limit");
            await using var stream = await response.Content.ReadAsStreamAsync(cancel);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = await stream.ReadAsync(chunk, cancel)) > 0)
            {
                if (buffer.Length + n > _limits.MaxEncodedBytes) throw new MediaRejectedException($"body is over the {_limits.MaxEncodedBytes}-byte limit");
                buffer.Write(chunk, 0, n);
            }
            return buffer.ToArray();
        }
        catch (HttpRequestException ex)
        {
            throw new MediaRejectedException($"cannot download {u}: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!cancel.IsCancellationRequested)
        {
            throw new MediaRejectedException($"download of {u} timed out", ex);
        }
    }
}
