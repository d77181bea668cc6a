using System.CommandLine;
using Media.Application;
using Media.Detection;
using Media.Embeddings.Pipeline;
using Media.Workers;
using Microsoft.Extensions.Configuration;

namespace Media.Cli.Commands;

/// <summary>Flags shared by the commands that run the service, and how they combine with configuration.</summary>
sealed class ServiceOptions
{
    public Option<string?> Data { get; } = new("--data") { Description = "Catalog folder (default: $MEDIA_DATA, Media:Data, ./data)" };
    public Option<string?> Catalog { get; } = new("--catalog")
    {
        Description = "Shared catalog postgresql://user:password@host:port/database instead of the folder of --data (many detect and query nodes). Configuration: Media:Catalog, $MEDIA_CATALOG",
    };
    public Option<string[]> Packs { get; } = new("--pack") { Description = "Model pack folder (repeatable; default: Media:Packs)", AllowMultipleArgumentsPerToken = false };
    public Option<string?> Device { get; } = CommonOptions.Device();
    public Option<int?> Threads { get; } = CommonOptions.Threads();
    public Option<string?> LogLevel { get; } = CommonOptions.LogLevel();
    public Option<string?> Transport { get; } = new("--transport") { Description = "inmemory (one process, default) or rabbitmq. Configuration: Media:Bus:Transport" };
    public Option<string?> RabbitMq { get; } = new("--rabbitmq") { Description = "Broker address amqp://user:pass@host:port/vhost. Configuration: Media:Bus:RabbitMq" };
    public Option<string?> Policy { get; } = new("--policy") { Description = "Moderation policy file (JSON: concepts and/or classifications). Configuration: Media:Policy" };
    public Option<bool> AllowNonSemantic { get; } = new("--allow-nonsemantic") { Description = "Let anomaly scoring and concept policies use semantic:false packs (tests and demos)" };

    /// <summary>Adds <c>--policy</c> and <c>--allow-nonsemantic</c> (commands that run detection).</summary>
    public void AddDetectionTo(Command command)
    {
        command.Options.Add(Policy);
        command.Options.Add(AllowNonSemantic);
    }

    public void AddTo(Command command)
    {
        command.Options.Add(Transport);
        command.Options.Add(RabbitMq);
        command.Options.Add(Data);
        command.Options.Add(Catalog);
        command.Options.Add(Packs);
        command.Options.Add(Device);
        command.Options.Add(Threads);
        command.Options.Add(LogLevel);
    }

    /// <summary>The catalog folder: <c>--data</c>, else <c>MEDIA_DATA</c>, else <c>Media:Data</c>, else <c>./data</c>.</summary>
    public string DataDirectory(ParseResult parse) =>
        parse.GetValue(Data) ?? Environment.GetEnvironmentVariable("MEDIA_DATA") ?? CommonOptions.Configuration["Media:Data"] ?? "data";

    /// <summary>The shared catalog's URI: <c>--catalog</c>, else <c>MEDIA_CATALOG</c>, else <c>Media:Catalog</c>; null for the embedded catalog.</summary>
    public string? SharedCatalog(ParseResult parse) =>
        (parse.GetValue(Catalog) ?? Environment.GetEnvironmentVariable("MEDIA_CATALOG") ?? CommonOptions.Configuration["Media:Catalog"]) is { Length: > 0 } c ? c : null;

    /// <summary>Where the catalog is: the shared catalog's URI when one is given, else the data folder.</summary>
    public string CatalogLocation(ParseResult parse) => SharedCatalog(parse) ?? DataDirectory(parse);

    /// <summary>The transport: <c>--transport</c>, else <c>Media:Bus:Transport</c>, else <c>rabbitmq</c> when <c>--rabbitmq</c> is given, else <c>inmemory</c>.</summary>
    public string TransportName(ParseResult parse) =>
        (parse.GetValue(Transport) ?? CommonOptions.Configuration["Media:Bus:Transport"] ?? (parse.GetValue(RabbitMq) is null ? "inmemory" : "rabbitmq")).ToLowerInvariant();

    /// <exception cref="FormatException">A bad device, or (with the webhooks role) a bad webhook (<c>Media:Webhooks</c>, <c>Media:WebhookDelivery</c>).</exception>
    public MediaServiceOptions Build(ParseResult parse, WorkerRoles roles)
    {
        var config = CommonOptions.Configuration;
        var packs = parse.GetValue(Packs) is { Length: > 0 } given ? given : config.GetSection("Media:Packs").Get<string[]>() ?? [];
        return new MediaServiceOptions
        {
            DataDirectory = DataDirectory(parse),
            Catalog = SharedCatalog(parse),
            PackDirectories = packs,
            Sessions = CommonOptions.Sessions(parse.GetValue(Device), parse.GetValue(Threads)) with
            {
                AllowSpinning = config.GetValue("Media:Pipeline:AllowSpinning", false),
            },
            Encode = new EncodeSettings { ExactPdq = config.GetValue("Media:Pipeline:ExactPdq", false) },
            EncodeBatchSize = config.GetValue("Media:Pipeline:BatchSize", 16),
            EncodeBatchTimeLimit = TimeSpan.FromMilliseconds(config.GetValue("Media:Pipeline:BatchTimeLimitMs", 50)),
            EncodeConcurrency = config.GetValue("Media:Pipeline:EncodeConcurrency", 2),
            Detection = (config.GetSection("Media:Detection").Get<DetectionPolicy>() ?? new DetectionPolicy()) with
            {
                // Validated where detection starts (MediaServices.Start), so commands that do not detect are not stopped by it.
                Actions = config.GetSection("Media:Actions").Get<ActionPolicy>() ?? new ActionPolicy(),
            },
            PolicyFile = parse.GetValue(Policy) ?? config["Media:Policy"],
            AllowNonSemantic = parse.GetValue(AllowNonSemantic),
            SequenceGapTimeout = TimeSpan.FromSeconds(config.GetValue("Media:Pipeline:SequenceGapTimeoutSeconds", 30)),
            Roles = roles,
            SnapshotInterval = TimeSpan.FromMinutes(config.GetValue("Media:Index:SnapshotMinutes", 10.0)),
            SnapshotMinItems = config.GetValue("Media:Index:SnapshotEveryItems", 10_000L),
            Transport = TransportName(parse),
            RabbitMqUri = parse.GetValue(RabbitMq) ?? config["Media:Bus:RabbitMq"],
            Webhooks = (roles & WorkerRoles.Webhooks) != 0 ? WebhookSettings.FromConfiguration(config) : new WebhookSettings(),
        };
    }
}
