namespace Media.Codecs;

/// <summary>Reads media bytes from a file path, a <c>file:</c> or <c>http(s):</c> URI, refusing anything over the byte limit.</summary>
public sealed class SourceReader(DecodeLimits? limits = null, HttpClient? http = null)
{
    static readonly HttpClient SharedHttp = new() { Timeout = TimeSpan.FromSeconds(30) };
    readonly DecodeLimits _limits = limits ?? DecodeLimits.Default;
    readonly HttpClient _http = http ?? SharedHttp;

    /// <summary>Reads a whole file, refusing one over the limit before reading it. Reading is bounded too, so a file that grows
    /// while it is read, or a device or pipe that reports no length (<c>/dev/zero</c>), is refused at the limit.</summary>
    /// <exception cref="MediaRejectedException">Missing, unreadable, not a valid path, or too large.</exception>
    public byte[] ReadFile(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new MediaRejectedException("no file path given");
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new MediaRejectedException(Directory.Exists(path) ? "is a folder" : "no such file");
            if (info.Length > _limits.MaxEncodedBytes) throw new MediaRejectedException($"file is {info.Length} bytes, over the {_limits.MaxEncodedBytes}-byte limit");
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
            return ReadBounded(stream, info.Length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MediaRejectedException($"cannot read: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            throw new MediaRejectedException($"not a valid file path: {ex.Message}", ex);
        }
    }

    /// <summary>Reads <paramref name="stream"/> to its end: the <paramref name="expected"/> bytes into one exact array when that is all
    /// there is, otherwise growing up to <see cref="DecodeLimits.MaxEncodedBytes"/> and refusing anything past it.</summary>
    byte[] ReadBounded(Stream stream, long expected)
    {
        var limit = Math.Min(_limits.MaxEncodedBytes, Array.MaxLength);
        var first = new byte[Math.Min(expected, limit)];
        var n = stream.ReadAtLeast(first, first.Length, throwOnEndOfStream: false);
        if (n < first.Length) return first[..n]; // shrank since it was measured
        Span<byte> probe = stackalloc byte[1];
        if (stream.Read(probe) == 0) return first;
        using var rest = new MemoryStream();
        rest.Write(first);
        rest.Write(probe);
        var chunk = new byte[81920];
        while ((n = stream.Read(chunk)) > 0)
        {
            if (rest.Length + n > limit) throw new MediaRejectedException($"file is over the {_limits.MaxEncodedBytes}-byte limit");
            rest.Write(chunk, 0, n);
        }
        if (rest.Length > limit) throw new MediaRejectedException($"file is over the {_limits.MaxEncodedBytes}-byte limit");
        return rest.ToArray();
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
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            throw new MediaRejectedException($"cannot download {u}: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!cancel.IsCancellationRequested)
        {
            throw new MediaRejectedException($"download of {u} timed out", ex);
        }
    }
}
