using System.Net;
using MassTransit.Logging;
using Media.Application;
using Media.Catalog;
using Media.Codecs;
using Media.Domain;
using Media.Workers;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Media.Api;

/// <summary>
/// The HTTP API role: an ASP.NET Core minimal API next to the process's other roles (<c>media serve --http ADDR:PORT</c>).
/// <see cref="AddMediaApi"/> registers its services, <see cref="UseMediaApi"/> its pipeline (problem details, API keys,
/// endpoints, health, OpenAPI, <c>/metrics</c>, the web page); <see cref="Build"/> composes a whole server with the
/// application services of the chosen roles and the bus.
/// </summary>
public static class ApiHost
{
    /// <summary>The web page's files (copied next to the assembly).</summary>
    public static string WebRoot => Path.Combine(AppContext.BaseDirectory, "wwwroot");

    /// <summary>
    /// Builds the server: the application services of <paramref name="options"/>' roles (with <see cref="WorkerRoles.Api"/>),
    /// the bus (tracking this process's submissions), the API, listening on <paramref name="address"/>. Without API keys a
    /// non-loopback address is replaced by the loopback address of its family (<paramref name="notice"/> says so). The
    /// application services are built at once, so a bad pack or catalog fails here.
    /// </summary>
    /// <exception cref="FormatException">A bad address or API setting.</exception>
    /// <remarks>Other exceptions as <see cref="MediaHost.Build"/>.</remarks>
    public static WebApplication Build(MediaServiceOptions options, ApiSettings settings, string address, ILoggerFactory logging, out string notice)
    {
        var endpoint = ParseAddress(address);
        notice = "";
        if (!settings.RequiresKey && !IPAddress.IsLoopback(endpoint.Address))
        {
            var loopback = endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
            notice = $"no API keys are configured (Media:Api:Keys), so the API listens on loopback only: {loopback}:{endpoint.Port} instead of {address}";
            endpoint = new IPEndPoint(loopback, endpoint.Port);
        }
        else if (!settings.RequiresKey)
            notice = "no API keys are configured (Media:Api:Keys): the API is open to anyone on this machine, so it listens on loopback only";
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, WebRootPath = WebRoot });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(endpoint));
        builder.Services.AddRouting();
        builder.Services.AddSingleton(logging);
        builder.Services.AddLogging();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddMediaServices(options with { Roles = options.Roles | WorkerRoles.Api });
        builder.Services.AddMediaBus(options, trackSubmissions: true, trackWebhookOutcomes: false);
        builder.Services.AddMediaApi(settings, options.DataDirectory, options.Catalog);
        var app = builder.Build();
        try
        {
            MediaServices.Start(app.Services);
            app.Services.GetRequiredService<IMediaCatalog>();
        }
        catch
        {
            ((IAsyncDisposable)app).DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
        app.UseMediaApi();
        return app;
    }

    /// <summary>Parses <c>ADDR:PORT</c> (<c>127.0.0.1:8080</c>, <c>[::1]:8080</c>, <c>0.0.0.0:8080</c>, <c>localhost:8080</c>; port 0 picks a free one).</summary>
    /// <exception cref="FormatException">Not an address and port.</exception>
    public static IPEndPoint ParseAddress(string address)
    {
        var text = address.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase) ? "127.0.0.1" + address["localhost".Length..] : address;
        if (!IPEndPoint.TryParse(text, out var ep) || !text.Contains(':') || text.EndsWith(']'))
            throw new FormatException($"--http '{address}' is not ADDR:PORT (e.g. 127.0.0.1:8080)");
        return ep;
    }

    /// <summary>
    /// Registers the API's services over the application services already registered (<see cref="MediaServices.AddMediaServices"/>
    /// and <see cref="MediaBus.AddMediaBus"/> with submission tracking): a catalog reader when no role opened the catalog,
    /// the queries, uploads, fetcher, intake and submissions, API keys, problem details, health checks, OpenAPI and OpenTelemetry.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="settings">The API's settings.</param>
    /// <param name="dataDirectory">This node's data folder (uploads; the embedded catalog unless <paramref name="sharedCatalog"/> is given).</param>
    /// <param name="sharedCatalog">The shared catalog's <c>postgresql://</c> URI, or null.</param>
    public static IServiceCollection AddMediaApi(this IServiceCollection services, ApiSettings settings, string dataDirectory, string? sharedCatalog = null)
    {
        services.AddSingleton(settings);
        services.TryAddSingleton<IMediaCatalog>(_ => Catalogs.Open(sharedCatalog ?? dataDirectory));
        services.AddSingleton(sp => new MediaQueries(sp.GetRequiredService<IMediaCatalog>()));
        services.AddSingleton(sp => new EmbeddingMap(sp.GetRequiredService<IMediaCatalog>(), sp.GetService<Media.Detection.IndexedCatalog>()));
        services.AddSingleton(_ => new UploadStore(dataDirectory));
        services.AddSingleton(_ => new ImageDecoder());
        services.AddSingleton(sp => new Thumbnails(sp.GetRequiredService<IMediaCatalog>(), sp.GetRequiredService<UploadStore>(), sp.GetRequiredService<ImageDecoder>()));
        services.AddSingleton(_ => new SourceFetcher(settings.Fetch));
        services.AddSingleton(sp => new MediaSubmissions(sp.GetRequiredService<MassTransit.IBus>(), sp.GetRequiredService<SubmissionTracker>(), () => sp.GetService<IMediaCatalog>()));
        services.AddSingleton<MediaIntake>();

        services.Configure<KestrelServerOptions>(k => k.Limits.MaxRequestBodySize = settings.MaxUploadBytes + (64 << 10));
        services.Configure<FormOptions>(f =>
        {
            f.MultipartBodyLengthLimit = settings.MaxUploadBytes + (64 << 10);
            f.ValueCountLimit = 64;
        });
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull);
        // Nothing here protects data with ASP.NET Core's data protection; keep its keys in memory rather than in the user's profile.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Detail ??= c.ProblemDetails.Status switch
        {
            404 => $"no endpoint or page at {c.HttpContext.Request.Path}",
            405 => $"{c.HttpContext.Request.Method} is not allowed on {c.HttpContext.Request.Path}",
            415 => "send application/json, or multipart/form-data with a `file` field",
            _ => null,
        });
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(o =>
        {
            if (settings.RequiresKey) o.FallbackPolicy = new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser().Build();
        });
        services.AddHealthChecks().AddCheck<ReadinessCheck>("media", tags: ["ready"]);
        services.AddOpenApi(o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Media";
            doc.Info.Description = "Multimodal media similarity: submissions, items with their flags and near-duplicates, search, duplicate review, the embedding map. "
                + "Errors are RFC 9457 problem details. With API keys configured every /v1 request needs Authorization: Bearer KEY.";
            return Task.CompletedTask;
        }));
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("media"))
            .WithMetrics(m =>
            {
                m.AddMeter(MediaMetrics.MeterName, DiagnosticHeaders.DefaultListenerName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel");
                m.AddPrometheusExporter();
                if (settings.OtlpEndpoint is { } url) m.AddOtlpExporter(o => o.Endpoint = new Uri(url));
            });
        if (settings.OtlpEndpoint is { } endpoint)
            otel.WithTracing(t => t.AddSource(DiagnosticHeaders.DefaultListenerName, "Microsoft.AspNetCore").AddOtlpExporter(o => o.Endpoint = new Uri(endpoint)));
        return services;
    }

    /// <summary>
    /// The API's pipeline: exception → problem details, status codes → problem details, authentication, authorization,
    /// then <c>/v1</c>, <c>/healthz</c> (alive), <c>/readyz</c> (bus connected, packs loaded, catalog open),
    /// <c>/openapi/v1.json</c>, <c>/metrics</c> (Prometheus) and the web page (<c>/</c>, <c>/media/{id}</c>, <c>/duplicates</c>,
    /// <c>/map</c>). With keys, everything but health, the OpenAPI document and the page's static files needs a key.
    /// </summary>
    public static IApplicationBuilder UseMediaApi(this IApplicationBuilder app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        var files = Directory.Exists(WebRoot) ? new PhysicalFileProvider(WebRoot) : null;
        if (files is not null) app.UseStaticFiles(new StaticFileOptions { FileProvider = files, RequestPath = "" });
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseEndpoints(e =>
        {
            e.MapMediaApi();
            e.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
            e.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") }).AllowAnonymous();
            e.MapOpenApi().AllowAnonymous();
            e.MapPrometheusScrapingEndpoint("/metrics");
            if (files is not null)
            {
                // The page's routes are all the same page; it reads the path and the query string.
                foreach (var route in new[] { "/", "/media/{id}", "/duplicates", "/map" })
                    e.MapGet(route, () => Results.File(Path.Combine(WebRoot, "index.html"), "text/html; charset=utf-8")).AllowAnonymous().ExcludeFromDescription();
            }
        });
        return app;
    }
}

/// <summary>Ready once the application services are built (packs loaded, catalog open); the bus's own readiness is MassTransit's <c>ready</c> check.</summary>
sealed class ReadinessCheck(IServiceProvider services) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var catalog = services.GetRequiredService<IMediaCatalog>();
            _ = catalog.LastSeq;
            var packs = services.GetService<LoadedPacks>();
            return Task.FromResult(HealthCheckResult.Healthy($"catalog {catalog.Location}, {packs?.Count ?? 0} packs loaded"));
        }
        catch (Exception ex)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy(ex.Message));
        }
    }
}

/// <summary>Turns exceptions into problem details: a bad request (a body over the size limit, unreadable form or JSON) keeps its status and message; anything else is a 500 without internals.</summary>
sealed class ApiExceptionHandler(IProblemDetailsService problems, ILogger<ApiExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        (int status, string title, string detail) = exception switch
        {
            Microsoft.AspNetCore.Http.BadHttpRequestException b => (b.StatusCode, b.StatusCode == 413 ? "Request too large" : "Bad request", b.Message),
            InvalidDataException d when d.Message.Contains("limit", StringComparison.OrdinalIgnoreCase) => (413, "Request too large", d.Message), // a multipart body over FormOptions' limits
            InvalidDataException d => (400, "Bad request", d.Message), // a malformed multipart body
            _ => (500, "Internal error", "the server failed on this request; see its log"),
        };
        if (status >= 500) log.LogError(exception, "request {Method} {Path} failed", context.Request.Method, context.Request.Path);
        context.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }
}
