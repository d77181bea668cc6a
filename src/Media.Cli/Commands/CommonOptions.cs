using System.CommandLine;
using Media.Embeddings.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Media.Cli.Commands;

/// <summary>Options and settings shared by commands. Configuration: <c>media.json</c> in the working folder, then <c>Media__*</c> environment variables, then flags.</summary>
static class CommonOptions
{
    public static Option<bool> Json() => new("--json") { Description = "One JSON object per line on stdout" };

    public static Option<string?> Device() => new("--device")
    {
        Description = "Execution provider: auto (CUDA when present, else CPU), cpu, cuda or cuda:N. Configuration: Media:Device",
    };

    public static Option<int?> Threads() => new("--threads")
    {
        Description = "ONNX Runtime intra-op threads per session (default 0: one per logical core). Configuration: Media:IntraOpThreads",
    };

    public static Option<string?> LogLevel() => new("--log-level")
    {
        Description = "Log level on stderr: trace, debug, information, warning, error (default: warning; Media:LogLevel)",
    };

    public static IConfiguration Configuration { get; } = new ConfigurationBuilder()
        .AddJsonFile(Path.Combine(Environment.CurrentDirectory, "media.json"), optional: true)
        .AddEnvironmentVariables()
        .Build();

    /// <summary>Session settings from configuration overridden by flags.</summary>
    /// <exception cref="FormatException">An unknown device.</exception>
    public static SessionSettings Sessions(string? device, int? threads) => new()
    {
        Device = ExecutionDevice.Parse(device ?? Configuration["Media:Device"] ?? "auto"),
        IntraOpThreads = threads ?? (int.TryParse(Configuration["Media:IntraOpThreads"], out var t) ? t : 0),
    };

    public static ILoggerFactory Logging(string? level)
    {
        var text = level ?? Configuration["Media:LogLevel"] ?? "warning";
        if (!Enum.TryParse<LogLevel>(text, ignoreCase: true, out var min)) min = Microsoft.Extensions.Logging.LogLevel.Warning;
        return LoggerFactory.Create(b => b
            .SetMinimumLevel(min)
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
            .AddConsole(o => o.LogToStandardErrorThreshold = Microsoft.Extensions.Logging.LogLevel.Trace));
    }
}
