using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Media.Codecs;
using Microsoft.Extensions.DependencyInjection;

namespace Media.Tests.Api;

/// <summary>The HTTP API end to end in process (in-memory bus, colour fixture pack): submissions, items, search, duplicates, map, stats, metrics, limits and refusals.</summary>
public sealed class MediaApiTests(MediaApiFactory factory) : IClassFixture<MediaApiFactory>
{
    static readonly byte[] Red = ApiMaterial.Blocks(ApiMaterial.Red, seed: 1);
    static readonly byte[] RedHalf = ApiMaterial.Blocks(ApiMaterial.Red, seed: 1, size: 128, quality: 60);
    static readonly byte[] Green = ApiMaterial.Blocks(ApiMaterial.Green, seed: 2);
    static readonly byte[] Blue = ApiMaterial.Blocks(ApiMaterial.Blue, seed: 3);

    static MultipartFormDataContent Upload(byte[] bytes, string name, string field = "file")
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, field, name);
        return form;
    }

    static async Task<JsonElement> Json(HttpResponseMessage r) => (await r.Content.ReadFromJsonAsync<JsonElement>())!;

    async Task<JsonElement> UploadAndWait(HttpClient client, byte[] bytes, string name)
    {
        var r = await client.PostAsync("/v1/media?wait=60", Upload(bytes, name));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return await Json(r);
    }

    [Fact]
    public async Task Uploads_are_indexed_and_searchable_with_their_duplicates_thumbnails_map_and_counts()
    {
        var client = factory.CreateClient();
        foreach (var (bytes, name) in new[] { (Red, "red.webp"), (Green, "green.webp"), (Blue, "blue.webp") })
        {
            var result = await UploadAndWait(client, bytes, name);
            Assert.Equal("indexed", result.GetProperty("status").GetString());
            Assert.Equal(ApiMaterial.Id(bytes), result.GetProperty("mediaId").GetString());
            Assert.EndsWith(name, result.GetProperty("source").GetString());
        }

        // Without ?wait: 202, a Location, and the same state behind it once done.
        var accepted = await client.PostAsync("/v1/media", Upload(RedHalf, "red-half.webp"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var location = accepted.Headers.Location!.ToString();
        Assert.Matches("^/v1/submissions/[0-9a-f-]{36}$", location);
        Assert.Equal("pending", (await Json(accepted)).GetProperty("status").GetString());
        JsonElement copy = default;
        for (var i = 0; i < 600 && (copy.ValueKind == JsonValueKind.Undefined || copy.GetProperty("status").GetString() == "pending"); i++)
        {
            await Task.Delay(100);
            copy = await Json(await client.GetAsync(location));
        }
        Assert.Equal("indexed", copy.GetProperty("status").GetString());
        var flag = Assert.Single(copy.GetProperty("flags").EnumerateArray());
        Assert.Equal("near_duplicate", flag.GetProperty("kind").GetString());
        Assert.Equal("pdq", flag.GetProperty("method").GetString());
        Assert.Equal(ApiMaterial.Id(Red), flag.GetProperty("of").GetString());

        // Text search: red first.
        var search = await client.PostAsJsonAsync("/v1/search", new { text = "red", k = 4 });
        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        var results = (await Json(search)).GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(4, results.Length);
        Assert.Contains(results[0].GetProperty("id").GetString(), new[] { ApiMaterial.Id(Red), ApiMaterial.Id(RedHalf) });
        Assert.Contains(results[1].GetProperty("id").GetString(), new[] { ApiMaterial.Id(Red), ApiMaterial.Id(RedHalf) });
        Assert.True(results[0].GetProperty("score").GetDouble() > results[2].GetProperty("score").GetDouble());

        // Image search by upload: the blue image finds itself first.
        var byImage = await client.PostAsync("/v1/search", Upload(Blue, "q.webp"));
        Assert.Equal(ApiMaterial.Id(Blue), (await Json(byImage)).GetProperty("results")[0].GetProperty("id").GetString());

        // Similar leaves the item out; its copy comes first.
        var similar = await Json(await client.GetAsync($"/v1/media/{ApiMaterial.Id(Red)}/similar?k=3"));
        var similarIds = similar.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToArray();
        Assert.DoesNotContain(ApiMaterial.Id(Red), similarIds);
        Assert.Equal(ApiMaterial.Id(RedHalf), similarIds[0]);

        // The item view shows the near-duplicate from both sides.
        var red = await Json(await client.GetAsync($"/v1/media/{ApiMaterial.Id(Red)}"));
        Assert.Equal("webp", red.GetProperty("format").GetString());
        Assert.Equal(256, red.GetProperty("width").GetInt32());
        var near = Assert.Single(red.GetProperty("nearDuplicates").EnumerateArray());
        Assert.Equal(ApiMaterial.Id(RedHalf), near.GetProperty("id").GetString());
        Assert.Equal("copy", near.GetProperty("relation").GetString());
        var half = await Json(await client.GetAsync($"/v1/media/{ApiMaterial.Id(RedHalf)}"));
        Assert.Equal("original", half.GetProperty("nearDuplicates")[0].GetProperty("relation").GetString());

        // Duplicate review: one group, the original and its copy with method and distance.
        // (Other tests of this class share the server, but none adds a near-duplicate.)
        var dups = await Json(await client.GetAsync("/v1/duplicates"));
        Assert.Equal(1, dups.GetProperty("totalGroups").GetInt32());
        var group = dups.GetProperty("groups")[0];
        Assert.Equal(ApiMaterial.Id(Red), group.GetProperty("originalId").GetString());
        var member = Assert.Single(group.GetProperty("members").EnumerateArray());
        Assert.Equal(ApiMaterial.Id(RedHalf), member.GetProperty("id").GetString());
        var evidence = member.GetProperty("evidence")[0];
        Assert.Equal("pdq", evidence.GetProperty("method").GetString());
        Assert.InRange(evidence.GetProperty("distance").GetDouble(), 0, evidence.GetProperty("threshold").GetDouble());

        // Thumbnail: WebP from our codecs, fitted into the asked size.
        var thumb = await client.GetAsync($"/v1/media/{ApiMaterial.Id(Red)}/thumbnail?size=64");
        Assert.Equal("image/webp", thumb.Content.Headers.ContentType!.MediaType);
        var decoded = new ImageDecoder().Decode(await thumb.Content.ReadAsByteArrayAsync());
        Assert.Equal((64, 64), (decoded.Width, decoded.Height));
        Assert.True(decoded.Image.Pixels[0] > 3 * decoded.Image.Pixels[2], "the red thumbnail is red");

        // Map: one point per item, PC1 explains at least as much as PC2; the two reds sit together.
        var map = await Json(await client.GetAsync("/v1/map?pack=color-clip"));
        var points = map.GetProperty("points").EnumerateArray().ToDictionary(p => p.GetProperty("id").GetString()!, p => (X: p.GetProperty("x").GetDouble(), Y: p.GetProperty("y").GetDouble()));
        Assert.True(points.Count >= 4 && new[] { Red, RedHalf, Green, Blue }.All(b => points.ContainsKey(ApiMaterial.Id(b))));
        var explained = map.GetProperty("explainedVariance").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.True(explained[0] >= explained[1] && explained[0] + explained[1] <= 1.000001);
        double Dist((double X, double Y) a, (double X, double Y) b) => Math.Sqrt(Math.Pow(a.X - b.X, 2) + Math.Pow(a.Y - b.Y, 2));
        Assert.True(Dist(points[ApiMaterial.Id(Red)], points[ApiMaterial.Id(RedHalf)]) < Dist(points[ApiMaterial.Id(Red)], points[ApiMaterial.Id(Blue)]) / 4);

        var stats = await Json(await client.GetAsync("/v1/stats"));
        Assert.True(stats.GetProperty("items").GetInt64() >= 4);
        Assert.Equal(1, stats.GetProperty("flags").GetProperty("near_duplicate").GetInt64());

        // Prometheus: items counted by status.
        var metrics = await client.GetStringAsync("/metrics");
        var line = metrics.Split('\n').Single(l => l.StartsWith("media_items_total{", StringComparison.Ordinal) && l.Contains("status=\"indexed\""));
        Assert.True(double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture) >= 4, line);
        Assert.Contains("media_inference_batch_size_bucket", metrics);
    }

    [Fact]
    public async Task A_png_bomb_is_refused_with_its_reason_and_the_server_keeps_serving()
    {
        var client = factory.CreateClient();
        var bomb = ApiMaterial.PngBomb();
        Assert.True(bomb.Length < 200_000);
        var r = await client.PostAsync("/v1/media", Upload(bomb, "bomb.png"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        var problem = await Json(r);
        Assert.Contains("30000×30000", problem.GetProperty("detail").GetString());
        Assert.Contains("pixel limit", problem.GetProperty("detail").GetString());
        Assert.Equal("too_many_pixels", problem.GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        var after = await UploadAndWait(client, ApiMaterial.Blocks(ApiMaterial.Green, seed: 77), "after-bomb.webp");
        Assert.Equal("indexed", after.GetProperty("status").GetString());
        Assert.Contains("media_rejected_total{", await client.GetStringAsync("/metrics"));
    }

    [Theory]
    [InlineData("{\"path\": \"/etc/passwd\"}", "never a server path")]
    [InlineData("{\"file\": \"/etc/passwd\"}", "never a server path")]
    [InlineData("{\"uri\": \"file:///etc/passwd\"}", "never a server path")]
    [InlineData("{\"uri\": \"/etc/passwd\"}", "never a server path")]
    [InlineData("{\"uri\": \"ftp://example.org/a.png\"}", "only http and https")]
    [InlineData("{\"uri\": \"http://127.0.0.1:9/a.png\"}", "loopback")]
    [InlineData("{\"uri\": \"http://localhost:9/a.png\"}", "loopback")]
    [InlineData("{\"uri\": \"http://[::1]:9/a.png\"}", "loopback")]
    [InlineData("{\"uri\": \"http://[::ffff:127.0.0.1]:9/a.png\"}", "loopback")]
    [InlineData("{\"uri\": \"http://169.254.169.254/latest/meta-data\"}", "link-local")]
    [InlineData("{\"uri\": \"http://10.1.2.3/a.png\"}", "private")]
    [InlineData("{\"uri\": \"http://192.168.0.1/a.png\"}", "private")]
    [InlineData("{}", "needs \"uri\"")]
    public async Task A_json_source_naming_a_server_path_or_a_non_public_address_is_refused(string body, string reason)
    {
        var r = await factory.CreateClient().PostAsync("/v1/media", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        Assert.Contains(reason, (await Json(r)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Bad_requests_get_problem_details()
    {
        var client = factory.CreateClient();
        async Task Expect(HttpResponseMessage r, HttpStatusCode status, string detail)
        {
            Assert.Equal(status, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
            Assert.Contains(detail, (await Json(r)).GetProperty("detail").GetString());
        }
        await Expect(await client.PostAsync("/v1/media", new StringContent("hello", System.Text.Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType, "multipart/form-data");
        await Expect(await client.PostAsync("/v1/media", Upload(Red, "x.webp", field: "image")), HttpStatusCode.BadRequest, "no `file` field");
        await Expect(await client.PostAsync("/v1/media?wait=abc", Upload(Red, "x.webp")), HttpStatusCode.BadRequest, "wait must be");
        await Expect(await client.PostAsync("/v1/media", Upload([], "empty.webp")), HttpStatusCode.BadRequest, "empty");
        await Expect(await client.PostAsync("/v1/media", Upload("not an image at all"u8.ToArray(), "x.bin")), HttpStatusCode.UnprocessableEntity, "unrecognised format");
        await Expect(await client.PostAsync("/v1/media", new StringContent("{\"uri\": ", System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, "not valid JSON");
        await Expect(await client.GetAsync($"/v1/submissions/{Guid.NewGuid()}"), HttpStatusCode.NotFound, "no submission");
        await Expect(await client.GetAsync($"/v1/media/{new string('a', 64)}"), HttpStatusCode.NotFound, "no catalogued item");
        await Expect(await client.GetAsync($"/v1/media/{new string('a', 64)}/thumbnail"), HttpStatusCode.NotFound, "no catalogued item");
        await Expect(await client.GetAsync($"/v1/media/{new string('a', 64)}/similar"), HttpStatusCode.NotFound, "no catalogued item");
        await Expect(await client.PostAsJsonAsync("/v1/search", new { text = "red", mediaId = "x" }), HttpStatusCode.BadRequest, "exactly one");
        await Expect(await client.PostAsJsonAsync("/v1/search", new { text = "red", k = 0 }), HttpStatusCode.BadRequest, "k must be 1–1000");
        await Expect(await client.PostAsJsonAsync("/v1/search", new { text = "red", pack = "nope" }), HttpStatusCode.BadRequest, "no loaded pack is named 'nope'");
        await Expect(await client.PostAsJsonAsync("/v1/search", new { text = "red", modality = "video" }), HttpStatusCode.BadRequest, "modality must be");
        await Expect(await client.GetAsync("/v1/duplicates?size=1000"), HttpStatusCode.BadRequest, "size must be 1–200");
        await Expect(await client.GetAsync("/v1/map?pack=nope"), HttpStatusCode.NotFound, "no embedding of pack 'nope'");
        await Expect(await client.GetAsync("/v1/map?pack=color-clip&sample=1"), HttpStatusCode.BadRequest, "sample must be");
    }

    [Fact]
    public async Task Health_readiness_openapi_and_the_page_are_served()
    {
        var client = factory.CreateClient();
        Assert.Equal("Healthy", await client.GetStringAsync("/healthz"));
        Assert.Equal("Healthy", await client.GetStringAsync("/readyz"));
        // Readiness covers the bus: MassTransit's own check is among those tagged "ready", next to ours.
        var checks = factory.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckServiceOptions>>().Value.Registrations;
        Assert.Contains(checks, c => c.Tags.Contains("ready") && c.Name.Contains("masstransit", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(checks, c => c.Tags.Contains("ready") && c.Name == "media");
        var doc = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = doc.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToArray();
        foreach (var p in new[] { "/v1/media", "/v1/submissions/{id}", "/v1/media/{id}", "/v1/media/{id}/thumbnail", "/v1/media/{id}/similar", "/v1/search", "/v1/duplicates", "/v1/map", "/v1/stats" })
            Assert.Contains(p, paths);
        foreach (var page in new[] { "/", "/?q=red", $"/media/{new string('0', 64)}", "/duplicates", "/map?pack=color-clip" })
        {
            var r = await client.GetAsync(page);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Contains("<script src=\"/app.js\">", await r.Content.ReadAsStringAsync());
        }
        Assert.Contains("function mapPage", await client.GetStringAsync("/app.js"));
    }
}

/// <summary>With API keys configured: a request without a valid key gets 401 with problem details; health stays open; the upload limit holds.</summary>
public sealed class MediaApiKeyTests(KeyedMediaApiFactory factory) : IClassFixture<KeyedMediaApiFactory>
{
    [Fact]
    public async Task Requests_need_a_configured_bearer_key()
    {
        var client = factory.CreateClient();
        foreach (var path in new[] { "/v1/stats", "/v1/duplicates", "/metrics" })
        {
            var r = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.Equal("Bearer", r.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
            Assert.Contains("requires an API key", (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        }
        var upload = new MultipartFormDataContent { { new ByteArrayContent(ApiMaterial.Blocks(ApiMaterial.Red, 5)), "file", "a.webp" } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync("/v1/media", upload)).StatusCode);

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "test-key-0123456789abcdeX");
        var wrong = await client.GetAsync("/v1/stats");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("not valid", (await wrong.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KeyedMediaApiFactory.Key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/stats")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/metrics")).StatusCode);

        var anonymous = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task An_upload_over_the_limit_is_refused()
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KeyedMediaApiFactory.Key);
        var noise = new byte[512 * 512 * 3];
        new Random(6).NextBytes(noise);
        var big = Thumbnail.EncodeWebP(new RgbImage(512, 512, noise), 100);
        Assert.True(big.Length > 64 << 10 && big.Length < 1 << 20, $"{big.Length} bytes");
        var r = await client.PostAsync("/v1/media", new MultipartFormDataContent { { new ByteArrayContent(big), "file", "big.webp" } });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
    }
}

/// <summary>Submitting by URI: fetched from a local HTTP server when its network is allowed (<c>AllowNetworks</c>), with the size cap; redirects to a refused address are refused.</summary>
public sealed class MediaApiFetchTests(LoopbackFetchMediaApiFactory factory) : IClassFixture<LoopbackFetchMediaApiFactory>
{
    [Fact]
    public async Task A_uri_in_an_allowed_network_is_fetched_and_indexed_and_a_body_over_the_cap_is_refused()
    {
        var image = ApiMaterial.Blocks(ApiMaterial.Blue, 9);
        var big = new byte[(1 << 20) + 1];
        using var listener = new HttpListener();
        var port = FreePort();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await listener.GetContextAsync(); } catch (Exception) { return; }
                var body = ctx.Request.Url!.AbsolutePath == "/big.bin" ? big : image;
                ctx.Response.ContentLength64 = body.Length;
                try { await ctx.Response.OutputStream.WriteAsync(body); ctx.Response.Close(); } catch (Exception) { }
            }
        });
        var client = factory.CreateClient();
        var r = await client.PostAsJsonAsync("/v1/media?wait=60", new { uri = $"http://127.0.0.1:{port}/pics/blue%20one.webp", collection = "fetched" });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var result = await r.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("indexed", result.GetProperty("status").GetString());
        Assert.Equal(ApiMaterial.Id(image), result.GetProperty("mediaId").GetString());
        Assert.EndsWith("blue_one.webp", result.GetProperty("source").GetString());
        var item = await client.GetFromJsonAsync<JsonElement>($"/v1/media/{ApiMaterial.Id(image)}");
        Assert.Equal("fetched", item.GetProperty("collection").GetString());

        var tooBig = await client.PostAsJsonAsync("/v1/media", new { uri = $"http://127.0.0.1:{port}/big.bin" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, tooBig.StatusCode);
        Assert.Contains("over the 1048576-byte limit", (await tooBig.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        listener.Stop();
        await serving;
    }

    static int FreePort()
    {
        using var s = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        s.Start();
        return ((IPEndPoint)s.LocalEndpoint).Port;
    }
}
