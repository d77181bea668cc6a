using Media.Detection;
using Media.Embeddings.Pipeline;
using Media.Embeddings.Runtime;

namespace Media.Application;

/// <summary>Which consumers a process runs.</summary>
[Flags]
public enum WorkerRoles
{
    None = 0,
    /// <summary>Fetch, hash, decode, embed (<c>MediaSubmitted</c> → <c>MediaEncoded</c>).</summary>
    Encode = 1,
    /// <summary>Detect and index (<c>MediaEncoded</c> → <c>MediaProcessed</c>); writes the catalog.</summary>
    Detect = 2,
    /// <summary>Answer <c>SearchRequest</c>s.</summary>
    Query = 4,
    /// <summary>Deliver actioned results to the configured webhooks (<c>MediaProcessed</c> → <c>WebhookDelivery</c> → HTTP POST).
    /// Does nothing when no webhook is configured.</summary>
    Webhooks = 8,
    All = Encode | Detect | Query | Webhooks,
    /// <summary>The HTTP API (<c>media serve --http ADDR:PORT</c>): publishes submissions, answers for their state, reads the
    /// catalog, and sends searches to the query role. Not part of <see cref="All"/>: it needs an address.</summary>
    Api = 16,
}

/// <summary>Configuration of the service (section <c>Media</c>; flags override it).</summary>
public sealed record MediaServiceOptions
{
    /// <summary>Catalog folder (<c>--data</c>, <c>MEDIA_DATA</c>, default <c>./data</c>).</summary>
    public string DataDirectory { get; init; } = "data";
    /// <summary>A shared catalog's <c>postgresql://user:password@host:port/database</c> URI (<c>--catalog</c>,
    /// <c>Media:Catalog</c>), or null for the embedded catalog under <see cref="DataDirectory"/>.</summary>
    public string? Catalog { get; init; }
    /// <summary>Where the catalog is: <see cref="Catalog"/> when set, else <see cref="DataDirectory"/>.</summary>
    public string CatalogLocation => Catalog ?? DataDirectory;
    /// <summary>Model-pack folders to load.</summary>
    public IReadOnlyList<string> PackDirectories { get; init; } = [];
    public SessionSettings Sessions { get; init; } = new();
    public EncodeSettings Encode { get; init; } = new();
    /// <summary>Messages per encode batch (MassTransit batch consumer).</summary>
    public int EncodeBatchSize { get; init; } = 16;
    /// <summary>How long the encode consumer waits to fill a batch.</summary>
    public TimeSpan EncodeBatchTimeLimit { get; init; } = TimeSpan.FromMilliseconds(50);
    /// <summary>Encode batches in flight at once: while one batch waits for inference the next one decodes.</summary>
    public int EncodeConcurrency { get; init; } = 2;
    public DetectionPolicy Detection { get; init; } = new();
    /// <summary>Concept policy file (<c>--policy</c>, <c>Media:Policy</c>), or null.</summary>
    public string? PolicyFile { get; init; }
    /// <summary>Let anomaly scoring and concept policies use <c>semantic: false</c> packs (tests and demos).</summary>
    public bool AllowNonSemantic { get; init; }
    /// <summary>How long detection waits for an earlier item of a submitter before skipping it (see <c>SequenceGate</c>).</summary>
    public TimeSpan SequenceGapTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Items the detect endpoint holds at once (most wait for their turn; processing itself is serial).</summary>
    public int DetectConcurrency { get; init; } = 256;
    public WorkerRoles Roles { get; init; } = WorkerRoles.All;
    /// <summary>Index implementations (the snapshot file is set from <see cref="DataDirectory"/>).</summary>
    public IndexSettings Index { get; init; } = new();
    /// <summary>How often the index snapshot is considered (<c>Media:Index:SnapshotMinutes</c>).</summary>
    public TimeSpan SnapshotInterval { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>A periodic snapshot is written once this many items were indexed since the last (<c>Media:Index:SnapshotEveryItems</c>).</summary>
    public long SnapshotMinItems { get; init; } = 10_000;
    /// <summary><c>inmemory</c> (one process) or <c>rabbitmq</c>.</summary>
    public string Transport { get; init; } = "inmemory";
    /// <summary>Broker address for <c>rabbitmq</c>, e.g. <c>amqp://guest:guest@127.0.0.1:5672/</c>.</summary>
    public string? RabbitMqUri { get; init; }
    /// <summary>Webhooks for actioned items and their delivery settings (<c>Media:Webhooks</c>, <c>Media:WebhookDelivery</c>).</summary>
    public WebhookSettings Webhooks { get; init; } = new();
}
