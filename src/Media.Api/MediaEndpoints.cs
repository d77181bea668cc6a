using System.Text.Json;
using MassTransit;
using Media.Application;
using Media.Catalog;
using Media.Codecs;
using Media.Contracts.V1;
using Media.Domain;
using Media.Workers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Media.Api;

/// <summary>JSON body of <c>POST /v1/media</c>: an http(s) URI to fetch, and an optional collection tag.</summary>
public sealed record SubmitUriBody(string? Uri, string? Collection);

/// <summary>JSON body of <c>POST /v1/search</c>: exactly one of <c>text</c> or <c>mediaId</c>, then <c>k</c> (1–1000, default 10), an optional pack name and modality (<c>image</c>, <c>audio</c>).</summary>
public sealed record SearchBody(string? Text, string? MediaId, int? K, string? Pack, string? Modality);

/// <summary>One search result.</summary>
/// <param name="Id">The item's id (SHA-256 hex).</param>
/// <param name="Path">Its first path.</param>
/// <param name="Modality"><c>image</c> or <c>audio</c>.</param>
/// <param name="Score">Cosine similarity in [−1, 1] in <paramref name="Pack"/>'s space (not comparable across packs).</param>
/// <param name="Pack">The pack whose space produced it.</param>
/// <param name="Thumbnail">The URL of its thumbnail.</param>
public sealed record SearchResult(string Id, string Path, string Modality, double Score, string Pack, string Thumbnail);

/// <summary>The answer of a search: results best first.</summary>
public sealed record SearchResults(IReadOnlyList<SearchResult> Results);

/// <summary>An item as <c>GET /v1/media/{id}</c> shows it.</summary>
/// <param name="Id">SHA-256 of its bytes, hex.</param>
/// <param name="Path">Where its bytes came from when first catalogued.</param>
/// <param name="Modality"><c>image</c> or <c>audio</c>.</param>
/// <param name="Format">Sniffed format, e.g. <c>jpeg</c>.</param>
/// <param name="SizeBytes">Encoded size, bytes.</param>
/// <param name="Width">Pixels (0 for audio).</param>
/// <param name="Height">Pixels (0 for audio).</param>
/// <param name="DurationSeconds">Audio length, seconds.</param>
/// <param name="Collection">Collection tag.</param>
/// <param name="CreatedAt">When it was catalogued (UTC).</param>
/// <param name="Pdq">PDQ hash, 64 hex digits (images).</param>
/// <param name="PdqQuality">PDQ quality 0–100.</param>
/// <param name="Flags">Every flag recorded for it.</param>
/// <param name="NearDuplicates">Its near-duplicates in both directions (<c>original</c>: it copies that item; <c>copy</c>: that item copies it).</param>
/// <param name="Thumbnail">The URL of its thumbnail.</param>
public sealed record MediaView(string Id, string Path, string Modality, string? Format, long SizeBytes, int Width, int Height, double? DurationSeconds,
    string? Collection, DateTimeOffset CreatedAt, string? Pdq, int PdqQuality, IReadOnlyList<MediaFlag> Flags, IReadOnlyList<NearDuplicate> NearDuplicates, string Thumbnail);

/// <summary>The answer of <c>GET /v1/stats</c>: the catalog's counts and this process's queue.</summary>
/// <param name="Items">Items catalogued.</param>
/// <param name="ByModality">Items per modality.</param>
/// <param name="Packs">Embeddings per pack key (<c>name@version</c>).</param>
/// <param name="Flags">Flags per kind.</param>
/// <param name="PendingSubmissions">Submissions accepted by this process and awaiting their result.</param>
public sealed record StatsView(long Items, IReadOnlyDictionary<string, long> ByModality, IReadOnlyDictionary<string, long> Packs, IReadOnlyDictionary<string, long> Flags, int PendingSubmissions);

/// <summary>
/// The <c>/v1</c> endpoints: thin adapters from HTTP to the application layer (<see cref="MediaIntake"/> and
/// <see cref="MediaSubmissions"/> for commands; <see cref="MediaQueries"/>, <see cref="Thumbnails"/>,
/// <see cref="EmbeddingMap"/> and the query role's <see cref="SearchRequest"/> for queries). Errors are RFC 9457 problem details.
/// </summary>
public static class MediaEndpoints
{
    /// <summary>Maps the <c>/v1</c> group.</summary>
    public static RouteGroupBuilder MapMediaApi(this IEndpointRouteBuilder endpoints)
    {
        var v1 = endpoints.MapGroup("/v1").WithTags("media");
        v1.MapPost("/media", SubmitAsync).WithName("SubmitMedia")
            .WithSummary("Submit media: multipart field `file`, or JSON {uri, collection} with an http(s) URI; ?wait=SECONDS waits for the result")
            .Accepts<SubmitUriBody>("application/json", "multipart/form-data")
            .Produces<SubmissionView>(StatusCodes.Status202Accepted).Produces<SubmissionView>(StatusCodes.Status200OK)
            .ProducesProblem(400).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);
        v1.MapGet("/submissions/{id:guid}", GetSubmission).WithName("GetSubmission").WithSummary("The state of a submission: pending, indexed, duplicate, rejected or failed");
        v1.MapGet("/media/{id}", GetMedia).WithName("GetMedia").WithSummary("An item with its flags and near-duplicates");
        v1.MapGet("/media/{id}/thumbnail", GetThumbnail).WithName("GetThumbnail").WithSummary("A WebP thumbnail (?size=16–1024, default 256), decoded by the service's codecs")
            .Produces(200, contentType: "image/webp").ProducesProblem(404);
        v1.MapGet("/media/{id}/similar", SimilarAsync).WithName("GetSimilar").WithSummary("Items nearest to this one (?k, ?pack, ?modality)");
        v1.MapPost("/search", SearchAsync).WithName("Search")
            .WithSummary("Search by JSON {text|mediaId, k, pack, modality}, or by a multipart image or audio `file` (fields k, pack, modality)")
            .Accepts<SearchBody>("application/json", "multipart/form-data")
            .Produces<SearchResults>().ProducesProblem(400).ProducesProblem(404);
        v1.MapGet("/duplicates", GetDuplicates).WithName("GetDuplicates").WithSummary("Near-duplicate groups, most recent first (?page, ?size)");
        v1.MapGet("/map", GetMap).WithName("GetMap").WithSummary("PCA 2-D coordinates of a sample of one pack's embeddings (?pack, ?sample=2–20000, default 2000)");
        v1.MapGet("/stats", GetStats).WithName("GetStats").WithSummary("Catalog counts and this process's pending submissions");
        return v1;
    }

    static ProblemHttpResult Problem(int status, string title, string detail, string? reason = null) =>
        TypedResults.Problem(detail, statusCode: status, title: title, extensions: reason is null ? null : new Dictionary<string, object?> { ["reason"] = reason });

    static string ThumbnailUrl(string id) => $"/v1/media/{id}/thumbnail";

    static async Task<IResult> SubmitAsync(HttpRequest request, MediaIntake intake, MediaSubmissions submissions, ApiSettings settings, string? wait, CancellationToken cancel)
    {
        TimeSpan? waitFor = null;
        if (wait is not null)
        {
            if (!double.TryParse(wait, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds < 0 || seconds > settings.MaxWaitSeconds)
                return Problem(400, "Bad wait", $"wait must be a number of seconds from 0 to {settings.MaxWaitSeconds}, got '{wait}'");
            waitFor = TimeSpan.FromSeconds(seconds);
        }
        Guid id;
        try
        {
            if (request.HasFormContentType)
            {
                if (request.ContentLength > settings.MaxUploadBytes + (64 << 10))
                    return Problem(413, "Upload too large", $"the request is {request.ContentLength} bytes, over the {settings.MaxUploadBytes}-byte upload limit", "too_large");
                var form = await request.ReadFormAsync(cancel);
                if (form.Files.GetFile("file") is not { } file)
                    return Problem(400, "No file", "the multipart form has no `file` field (send the media as -F file=@PATH)");
                if (file.Length > settings.MaxUploadBytes)
                    return Problem(413, "Upload too large", $"the upload is {file.Length} bytes, over the {settings.MaxUploadBytes}-byte limit", "too_large");
                var bytes = new byte[file.Length];
                await using (var s = file.OpenReadStream()) await s.ReadExactlyAsync(bytes, cancel);
                id = await intake.SubmitBytesAsync(bytes, file.FileName, form["collection"].FirstOrDefault(), cancel);
            }
            else if (request.HasJsonContentType())
            {
                using var json = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancel);
                if (json.RootElement.ValueKind != JsonValueKind.Object) return Problem(400, "Bad body", "the JSON body must be an object {\"uri\": \"https://…\"}");
                foreach (var p in json.RootElement.EnumerateObject())
                {
                    if (p.Name.Equals("path", StringComparison.OrdinalIgnoreCase) || p.Name.Equals("file", StringComparison.OrdinalIgnoreCase))
                        return Problem(400, "Source refused", $"\"{p.Name}\": a source over HTTP is never a server path; upload the bytes (multipart `file`) or give an http(s) \"uri\"", "refused_source");
                    if (p.Name is not ("uri" or "collection")) return Problem(400, "Bad body", $"unknown field \"{p.Name}\": expected \"uri\" and optionally \"collection\"");
                }
                var body = json.RootElement.Deserialize<SubmitUriBody>(JsonSerializerOptions.Web);
                if (string.IsNullOrWhiteSpace(body?.Uri)) return Problem(400, "No URI", "the JSON body needs \"uri\": an http(s) URI to fetch");
                id = await intake.SubmitUriAsync(body.Uri, body.Collection, cancel);
            }
            else
                return Problem(415, "Unsupported media type", "send multipart/form-data with a `file` field, or application/json with a \"uri\"");
        }
        catch (IntakeRefusedException ex)
        {
            return Problem(ex.Status, ex.Title, ex.Message, MediaMetrics.ReasonOf(ex.Message));
        }
        catch (JsonException ex)
        {
            return Problem(400, "Bad JSON", $"the body is not valid JSON: {ex.Message}");
        }
        var location = $"/v1/submissions/{id}";
        var view = waitFor is { } w ? await submissions.WaitAsync(id, w, cancel) : submissions.Find(id);
        view ??= new SubmissionView(id, SubmissionView.Pending, null, "", null, null, null, []);
        return view.IsFinal ? TypedResults.Ok(view) : TypedResults.Accepted(location, view);
    }

    static IResult GetSubmission(Guid id, MediaSubmissions submissions) =>
        submissions.Find(id) is { } view ? TypedResults.Ok(view) : Problem(404, "Unknown submission", $"no submission {id} is known here or in the catalog");

    static IResult GetMedia(string id, MediaQueries queries)
    {
        if (queries.Details(id) is not { } d) return Problem(404, "Unknown media", $"no catalogued item has id '{id}'");
        var i = d.Item;
        return TypedResults.Ok(new MediaView(i.Id, i.Path, i.Modality, i.Format, i.SizeBytes, i.Width, i.Height, i.DurationSeconds, i.Collection, i.CreatedAt,
            i.Pdq is null ? null : Convert.ToHexStringLower(i.Pdq), i.PdqQuality, [.. d.Flags.Select(f => f.ToMessage())], d.NearDuplicates, ThumbnailUrl(i.Id)));
    }

    static IResult GetThumbnail(string id, int? size, Thumbnails thumbnails, ApiSettings settings, HttpResponse response)
    {
        var side = size ?? 256;
        if (side is < Thumbnails.MinSize or > Thumbnails.MaxSize) return Problem(400, "Bad size", $"size must be {Thumbnails.MinSize}–{Thumbnails.MaxSize}, got {side}");
        try
        {
            if (thumbnails.WebP(id, side) is not { } bytes) return Problem(404, "Unknown media", $"no catalogued item has id '{id}'");
            // Ids are content hashes: a thumbnail never changes.
            response.Headers.CacheControl = $"{(settings.RequiresKey ? "private" : "public")}, max-age=86400, immutable";
            return TypedResults.File(bytes, "image/webp");
        }
        catch (ThumbnailUnavailableException ex)
        {
            return Problem(404, "No thumbnail", ex.Message);
        }
    }

    static Task<IResult> SimilarAsync(string id, int? k, string? pack, string? modality, MediaQueries queries, IRequestClient<SearchRequest> search, CancellationToken cancel) =>
        queries.Details(id) is null
            ? Task.FromResult<IResult>(Problem(404, "Unknown media", $"no catalogued item has id '{id}'"))
            : RunSearchAsync(new SearchRequest(K: k ?? 10, Pack: pack, Modality: modality, MediaId: id), search, cancel);

    static async Task<IResult> SearchAsync(HttpRequest request, IRequestClient<SearchRequest> search, ApiSettings settings, MediaQueries queries, CancellationToken cancel)
    {
        SearchRequest query;
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(cancel);
            if (form.Files.GetFile("file") is not { } file) return Problem(400, "No file", "the multipart form has no `file` field (an image or audio query)");
            if (file.Length == 0 || file.Length > Math.Min(settings.MaxUploadBytes, MediaSource.MaxInlineBytes))
                return Problem(413, "Query too large", $"a query file must be 1–{Math.Min(settings.MaxUploadBytes, MediaSource.MaxInlineBytes)} bytes, got {file.Length}");
            var bytes = new byte[file.Length];
            await using (var s = file.OpenReadStream()) await s.ReadExactlyAsync(bytes, cancel);
            if (!int.TryParse(form["k"].FirstOrDefault() ?? "10", out var k)) return Problem(400, "Bad k", "k must be an integer 1–1000");
            var audio = FormatSniffer.Sniff(bytes.AsSpan(0, Math.Min(32, bytes.Length))).IsAudio();
            query = new SearchRequest(K: k, Pack: NullIfEmpty(form["pack"].FirstOrDefault()), Modality: NullIfEmpty(form["modality"].FirstOrDefault()),
                Image: audio ? null : bytes, Audio: audio ? bytes : null);
        }
        else if (request.HasJsonContentType())
        {
            SearchBody? body;
            try
            {
                body = await request.ReadFromJsonAsync<SearchBody>(cancel);
            }
            catch (JsonException ex)
            {
                return Problem(400, "Bad JSON", $"the body is not a valid search: {ex.Message}");
            }
            if (body is null || (string.IsNullOrWhiteSpace(body.Text) == (body.MediaId is null)))
                return Problem(400, "Bad search", "give exactly one of \"text\" or \"mediaId\" (or post a multipart image or audio `file`)");
            if (body.MediaId is { } mediaId && queries.Details(mediaId) is null) return Problem(404, "Unknown media", $"no catalogued item has id '{mediaId}'");
            query = new SearchRequest(Text: body.Text, MediaId: body.MediaId, K: body.K ?? 10, Pack: NullIfEmpty(body.Pack), Modality: NullIfEmpty(body.Modality));
        }
        else return Problem(415, "Unsupported media type", "send application/json {text|mediaId, k, pack, modality}, or multipart/form-data with a `file`");
        return await RunSearchAsync(query, search, cancel);
    }

    static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    static async Task<IResult> RunSearchAsync(SearchRequest query, IRequestClient<SearchRequest> search, CancellationToken cancel)
    {
        if (query.Modality is not (null or Modalities.Image or Modalities.Audio)) return Problem(400, "Bad modality", $"modality must be image or audio, got '{query.Modality}'");
        SearchResponse response;
        try
        {
            response = (await search.GetResponse<SearchResponse>(query, cancel)).Message;
        }
        catch (RequestTimeoutException)
        {
            return Problem(504, "Search timed out", "no query worker answered in time (is a `media serve` with the query role running?)");
        }
        if (response.Error is not null) return Problem(400, "Search failed", response.Error);
        return TypedResults.Ok(new SearchResults([.. response.Results.Select(r => new SearchResult(r.Id, r.Path, r.Modality, r.Score, r.Pack, ThumbnailUrl(r.Id)))]));
    }

    static IResult GetDuplicates(int? page, int? size, MediaQueries queries)
    {
        var (p, s) = (page ?? 1, size ?? 20);
        if (p < 1) return Problem(400, "Bad page", $"page must be 1 or more, got {p}");
        if (s is < 1 or > 200) return Problem(400, "Bad size", $"size must be 1–200, got {s}");
        return TypedResults.Ok(queries.Duplicates(p, s));
    }

    static IResult GetMap(string? pack, int? sample, EmbeddingMap map, IMediaCatalog catalog)
    {
        var n = sample ?? 2000;
        if (n is < 2 or > EmbeddingMap.MaxSample) return Problem(400, "Bad sample", $"sample must be 2–{EmbeddingMap.MaxSample}, got {n}");
        if (string.IsNullOrWhiteSpace(pack))
        {
            var names = catalog.Stats().Packs.Keys.Select(k => PackKey.Parse(k).Name).Distinct().ToArray();
            if (names.Length != 1)
                return Problem(400, "Which pack?", names.Length == 0 ? "nothing is embedded yet" : $"give ?pack=NAME, one of: {string.Join(", ", names)}");
            pack = names[0];
        }
        return map.Project(pack, n) is { } result ? TypedResults.Ok(result) : Problem(404, "Unknown pack", $"no embedding of pack '{pack}' is catalogued");
    }

    static IResult GetStats(MediaQueries queries, MediaSubmissions submissions)
    {
        var s = queries.Stats();
        return TypedResults.Ok(new StatsView(s.Items, s.ByModality, s.Packs, s.Flags, submissions.Pending));
    }
}
