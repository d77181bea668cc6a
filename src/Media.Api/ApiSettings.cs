using Media.Application;
using Microsoft.Extensions.Configuration;

namespace Media.Api;

/// <summary>Settings of the HTTP API (configuration section <c>Media:Api</c>).</summary>
public sealed record ApiSettings
{
    /// <summary>
    /// Accepted API keys (<c>Media:Api:Keys</c>, a list: <c>Media__Api__Keys__0=…</c>), sent as <c>Authorization: Bearer KEY</c>.
    /// Empty: no authentication, and the server binds to loopback only.
    /// </summary>
    public IReadOnlyList<string> Keys { get; init; } = [];

    /// <summary>Largest upload (multipart <c>file</c>, or a fetched URI's body), bytes (<c>Media:Api:MaxUploadBytes</c>, default 32 MiB).</summary>
    public long MaxUploadBytes { get; init; } = 32L << 20;

    /// <summary>Longest <c>?wait=</c> honoured, seconds (<c>Media:Api:MaxWaitSeconds</c>, default 60).</summary>
    public int MaxWaitSeconds { get; init; } = 60;

    /// <summary>How submitted URIs are fetched (<c>Media:Api:Fetch</c>: <c>TimeoutSeconds</c>, <c>MaxRedirects</c>, <c>AllowNetworks</c>); the size cap is <see cref="MaxUploadBytes"/>.</summary>
    public FetchSettings Fetch { get; init; } = new();

    /// <summary>OTLP endpoint for metrics and traces (<c>Media:Telemetry:OtlpEndpoint</c>, or the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>); null: no OTLP export.</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary>Whether requests need a key.</summary>
    public bool RequiresKey => Keys.Count > 0;

    /// <summary>Reads the settings from configuration.</summary>
    /// <exception cref="FormatException">A value is out of range or a key is blank.</exception>
    public static ApiSettings FromConfiguration(IConfiguration config)
    {
        var keys = config.GetSection("Media:Api:Keys").Get<string[]>() ?? [];
        if (keys.Any(string.IsNullOrWhiteSpace)) throw new FormatException("Media:Api:Keys: a key is empty");
        if (keys.Any(k => k.Length < 16)) throw new FormatException("Media:Api:Keys: keys must be at least 16 characters");
        var max = config.GetValue("Media:Api:MaxUploadBytes", 32L << 20);
        if (max is < 1024 or > 1L << 30) throw new FormatException($"Media:Api:MaxUploadBytes must be 1 KiB–1 GiB, got {max}");
        var wait = config.GetValue("Media:Api:MaxWaitSeconds", 60);
        if (wait is < 0 or > 600) throw new FormatException($"Media:Api:MaxWaitSeconds must be 0–600, got {wait}");
        var timeout = config.GetValue("Media:Api:Fetch:TimeoutSeconds", 15.0);
        if (timeout is <= 0 or > 300) throw new FormatException($"Media:Api:Fetch:TimeoutSeconds must be in (0, 300], got {timeout}");
        return new ApiSettings
        {
            Keys = keys,
            MaxUploadBytes = max,
            MaxWaitSeconds = wait,
            Fetch = new FetchSettings
            {
                Timeout = TimeSpan.FromSeconds(timeout),
                MaxBytes = max,
                MaxRedirects = config.GetValue("Media:Api:Fetch:MaxRedirects", 3),
                AllowNetworks = config.GetSection("Media:Api:Fetch:AllowNetworks").Get<string[]>() ?? [],
            },
            OtlpEndpoint = config["Media:Telemetry:OtlpEndpoint"] ?? config["OTEL_EXPORTER_OTLP_ENDPOINT"],
        };
    }
}
