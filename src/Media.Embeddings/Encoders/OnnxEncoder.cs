using System.Numerics.Tensors;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Media.Embeddings.Encoders;

/// <summary>
/// One ONNX encoder tower: a session (thread-safe, shared) whose output is <c>float32 [B, D]</c>.
/// Outputs are L2-normalised so that cosine similarity is a dot product.
/// </summary>
public abstract class OnnxEncoder : IDisposable
{
    readonly EngagedSession _engaged;
    readonly string[] _outputNames;

    /// <summary>Embedding dimension D.</summary>
    public int Dimension { get; }
    /// <summary>The execution provider in use, e.g. <c>cpu</c> or <c>cuda:0</c>.</summary>
    public string Provider => _engaged.Provider;
    /// <summary>Largest batch per ONNX Runtime call; larger requests are split.</summary>
    public int MaxBatch { get; init; } = 32;
    protected InferenceSession Session => _engaged.Session;

    protected OnnxEncoder(EngagedSession engaged, string output, int dimension)
    {
        _engaged = engaged; _outputNames = [output]; Dimension = dimension;
    }

    /// <summary>Runs one batch of <paramref name="batch"/> items and returns <c>[batch][D]</c> unit vectors.</summary>
    protected float[][] Run(IReadOnlyList<string> inputNames, IReadOnlyList<OrtValue> inputs, int batch) =>
        Run(inputNames, inputs, batch, null, 0).Embeddings;

    /// <summary>
    /// Runs one batch of <paramref name="batch"/> items, fetching the embedding output and, in the same ONNX Runtime run,
    /// <paramref name="extraOutput"/> (float32 <c>[batch, extraWidth]</c>) when it is not null. Returns <c>[batch][D]</c> unit
    /// vectors and <c>[batch][extraWidth]</c> raw values (null without an extra output).
    /// </summary>
    /// <exception cref="InvalidOperationException">An output does not hold the expected number of values.</exception>
    protected (float[][] Embeddings, float[][]? Extra) Run(IReadOnlyList<string> inputNames, IReadOnlyList<OrtValue> inputs, int batch, string? extraOutput, int extraWidth)
    {
        using var runOptions = new RunOptions();
        using var outputs = Session.Run(runOptions, inputNames, inputs, extraOutput is null ? _outputNames : [_outputNames[0], extraOutput]);
        var data = outputs[0].GetTensorDataAsSpan<float>();
        if (data.Length != batch * Dimension)
            throw new InvalidOperationException($"encoder returned {data.Length} values for {batch}×{Dimension}");
        var result = new float[batch][];
        for (var i = 0; i < batch; i++)
        {
            var v = data.Slice(i * Dimension, Dimension).ToArray();
            L2Normalize(v);
            result[i] = v;
        }
        if (extraOutput is null) return (result, null);
        var extraData = outputs[1].GetTensorDataAsSpan<float>();
        if (extraData.Length != batch * extraWidth)
            throw new InvalidOperationException($"output '{extraOutput}' returned {extraData.Length} values for {batch}×{extraWidth}");
        var extra = new float[batch][];
        for (var i = 0; i < batch; i++) extra[i] = extraData.Slice(i * extraWidth, extraWidth).ToArray();
        return (result, extra);
    }

    /// <summary>Scales <paramref name="v"/> to unit L2 norm in place (a zero vector stays zero).</summary>
    public static void L2Normalize(Span<float> v)
    {
        var norm = TensorPrimitives.Norm(v);
        if (norm > 1e-12f) TensorPrimitives.Divide(v, norm, v);
    }

    /// <summary>
    /// Validates a freshly opened session and builds its encoder: fails when the graph has inputs other than
    /// <paramref name="described"/>, then runs <paramref name="create"/> (which checks tensors and constructs).
    /// The session is disposed when anything fails.
    /// </summary>
    protected static T Validated<T>(EngagedSession session, string where, string modality, IReadOnlyCollection<string> described, Func<T> create)
    {
        try
        {
            var other = session.Session.InputMetadata.Keys.Where(k => !described.Contains(k)).ToArray();
            if (other.Length > 0) throw new ModelPackException($"{where}: the {modality} model has inputs this pack does not describe: {string.Join(", ", other)}");
            return create();
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Checks that the session declares <paramref name="name"/> with the element type and fixed dimensions given (-1 = any).</summary>
    protected static void ExpectTensor(IReadOnlyDictionary<string, NodeMetadata> nodes, string kind, string name, TensorElementType type, int[] dims, string where, string field)
    {
        if (!nodes.TryGetValue(name, out var meta))
            throw new ModelPackException($"{where}: {field} '{name}' is not an {kind} of the ONNX model (it has: {string.Join(", ", nodes.Keys)})");
        if (!meta.IsTensor || meta.ElementDataType != type)
            throw new ModelPackException($"{where}: {field} '{name}' is {meta.ElementDataType}, expected {type}");
        var actual = meta.Dimensions;
        if (actual.Length != dims.Length)
            throw new ModelPackException($"{where}: {field} '{name}' has rank {actual.Length} [{string.Join(",", actual)}], expected [{Shape(dims)}]");
        for (var i = 0; i < dims.Length; i++)
            if (dims[i] >= 0 && actual[i] >= 0 && actual[i] != dims[i])
                throw new ModelPackException($"{where}: {field} '{name}' has shape [{Shape(actual)}], expected [{Shape(dims)}] (dimension {i})");
    }

    static string Shape(int[] dims) => string.Join(",", dims.Select(d => d < 0 ? "?" : d.ToString()));

    public void Dispose()
    {
        _engaged.Dispose();
        GC.SuppressFinalize(this);
    }
}
