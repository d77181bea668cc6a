using Media.Detection;
using Media.Embeddings.Packs;
using Media.Embeddings.Pipeline;
using Media.Embeddings.Runtime;
using Media.Index;
using Microsoft.Extensions.Logging;

namespace Media.Workers;

/// <summary>
/// The process-wide domain objects behind the consumers: loaded model packs (one ONNX session per encoder),
/// the catalog and indexes (detect/query roles), the encode stage, the detector and the search service.
/// </summary>
public sealed class MediaRuntime : IAsyncDisposable
{
    public MediaServiceOptions Options { get; }
    public IReadOnlyList<ModelPack> Packs { get; }
    public MediaStore? Store { get; }
    public EncodeStage? Encoder { get; }
    public DuplicateDetector? Detector { get; }
    public SearchService? Search { get; }
    /// <summary>Orders detection by each submitter's sequence numbers.</summary>
    public SequenceGate Sequence { get; }

    /// <exception cref="ModelPackException">A pack fails to load.</exception>
    /// <exception cref="ExecutionProviderException">The device cannot engage.</exception>
    /// <exception cref="FormatException">The concept policy file is invalid.</exception>
    /// <exception cref="ArgumentException">The concept policy cannot be used with the loaded packs.</exception>
    /// <exception cref="Media.Codecs.MediaRejectedException">A concept example cannot be decoded.</exception>
    public MediaRuntime(MediaServiceOptions options, ILoggerFactory logging)
    {
        Options = options;
        Sequence = new SequenceGate(options.SequenceGapTimeout);
        var factory = new OnnxSessionFactory(options.Sessions, logging.CreateLogger("Media.OnnxRuntime"));
        var packs = new List<ModelPack>();
        try
        {
            // A process with no consumers (a submitter or searcher on a broker) needs no encoders.
            if (options.Roles != WorkerRoles.None)
                foreach (var dir in options.PackDirectories) packs.Add(ModelPack.Load(dir, factory));
            var names = packs.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
            if (names is not null) throw new ModelPackException($"two packs are named '{names.Key}'");
            Packs = packs;
            var roles = options.Roles;
            if ((roles & (WorkerRoles.Detect | WorkerRoles.Query)) != 0) Store = MediaStore.Open(options.DataDirectory);
            if ((roles & WorkerRoles.Encode) != 0)
            {
                var store = Store;
                Encoder = new EncodeStage(packs, sha => store?.Contains(sha) ?? false, options.Encode with { MaxBatch = options.EncodeBatchSize });
            }
            if ((roles & WorkerRoles.Detect) != 0)
            {
                var rules = new List<IFlagRule> { new AnomalyRule(Store!, options.Detection.Anomaly with { AllowNonSemantic = options.AllowNonSemantic || options.Detection.Anomaly.AllowNonSemantic }) };
                if (options.PolicyFile is { } policy)
                    rules.Add(new ConceptRule(ConceptPolicy.Load(policy), Path.GetDirectoryName(Path.GetFullPath(policy))!, packs, options.AllowNonSemantic));
                Detector = new DuplicateDetector(Store!, options.Detection, rules);
            }
            if ((roles & WorkerRoles.Query) != 0) Search = new SearchService(Store!, packs);
        }
        catch
        {
            foreach (var p in packs) p.Dispose();
            Store?.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Encoder is not null) await Encoder.DisposeAsync();
        foreach (var p in Packs) p.Dispose();
        Store?.Dispose();
    }
}
