using Media.Application;
using Media.Codecs;
using Media.Contracts.V1;
using Media.Domain;
using Media.Workers;

namespace Media.Api;

/// <summary>Why an upload or a URI was not accepted: an HTTP status and the reason (the problem details' <c>detail</c>).</summary>
public sealed class IntakeRefusedException(int status, string title, string reason) : Exception(reason)
{
    /// <summary>The HTTP status to answer with (400, 413, 415 or 422).</summary>
    public int Status { get; } = status;
    /// <summary>A short title for the problem details.</summary>
    public string Title { get; } = title;
}

/// <summary>
/// Turns what the API receives (uploaded bytes, or an http(s) URI fetched by <see cref="SourceFetcher"/>) into a
/// submission: the bytes are checked against the size limit and, for JPEG, PNG and WebP, their header against the
/// decoders' bomb limits (so a decompression bomb is refused at the door with its reason, before anything decodes it),
/// stored in the <see cref="UploadStore"/>, and submitted by path in memory (the encode role shares this process) or
/// inline over a broker (at most <see cref="MediaSource.MaxInlineBytes"/>). A client never names a server path.
/// </summary>
public sealed class MediaIntake(ApiSettings settings, UploadStore uploads, SourceFetcher fetcher, MediaSubmissions submissions, MediaServiceOptions options, ImageDecoder decoder)
{
    readonly bool _inMemory = options.Transport.Equals("inmemory", StringComparison.OrdinalIgnoreCase);

    /// <summary>Checks, stores and submits uploaded bytes; returns the submission id.</summary>
    /// <exception cref="IntakeRefusedException">Empty, too large, or refused by the decoders' header limits.</exception>
    public Task<Guid> SubmitBytesAsync(byte[] bytes, string? name, string? collection, CancellationToken cancel)
    {
        if (bytes.Length == 0) throw Refuse(400, "Empty upload", "the uploaded file is empty (0 bytes)");
        if (bytes.Length > settings.MaxUploadBytes)
            throw Refuse(413, "Upload too large", $"the upload is {bytes.Length} bytes, over the {settings.MaxUploadBytes}-byte limit");
        if (!_inMemory && bytes.Length > MediaSource.MaxInlineBytes)
            throw Refuse(413, "Upload too large", $"the upload is {bytes.Length} bytes; over a broker uploads travel inline, at most {MediaSource.MaxInlineBytes} bytes");
        try
        {
            decoder.ReadHeader(bytes);
        }
        catch (MediaRejectedException ex)
        {
            throw Refuse(422, "Media rejected", ex.Message);
        }
        var (_, path) = uploads.Save(bytes, name);
        var source = _inMemory ? new MediaSource(Path: path) : new MediaSource(Inline: bytes);
        return submissions.SubmitAsync(source, collection, cancel);
    }

    /// <summary>Fetches an http(s) URI (SSRF-checked, with the timeout and size cap), then submits its body like an upload.</summary>
    /// <exception cref="IntakeRefusedException">A refused URI (400), a failed download (422), or a refused body.</exception>
    public async Task<Guid> SubmitUriAsync(string uri, string? collection, CancellationToken cancel)
    {
        byte[] bytes;
        string name;
        try
        {
            (bytes, name) = await fetcher.FetchAsync(uri, cancel);
        }
        catch (SourceRefusedException ex)
        {
            throw Refuse(400, "Source refused", ex.Message);
        }
        catch (MediaRejectedException ex)
        {
            throw Refuse(422, "Download failed", ex.Message);
        }
        return await SubmitBytesAsync(bytes, name, collection, cancel);
    }

    static IntakeRefusedException Refuse(int status, string title, string reason)
    {
        MediaMetrics.Rejected.Add(1, new("reason", MediaMetrics.ReasonOf(reason)), new("stage", "api"));
        return new IntakeRefusedException(status, title, reason);
    }
}
