using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace Media.Embeddings.Runtime;

/// <summary>An ONNX Runtime session and the execution provider that engaged for it.</summary>
public sealed record EngagedSession(InferenceSession Session, string Provider, string Reason) : IDisposable
{
    public void Dispose() => Session.Dispose();
}

/// <summary>The execution provider could not engage as requested; the message names what is missing.</summary>
public sealed class ExecutionProviderException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Creates ONNX Runtime sessions on the requested <see cref="ExecutionDevice"/>:
/// <c>cpu</c> uses the CPU provider; <c>cuda[:N]</c> appends the CUDA provider or throws
/// <see cref="ExecutionProviderException"/>; <c>auto</c> tries CUDA when <see cref="CudaProbe"/> says it can
/// engage and falls back to CPU otherwise. Every decision is logged with its reason.
/// </summary>
public sealed class OnnxSessionFactory(SessionSettings settings, ILogger? logger = null)
{
    readonly ILogger _log = logger ?? NullLogger.Instance;
    public SessionSettings Settings { get; } = settings;

    /// <summary>Opens <paramref name="modelPath"/>.</summary>
    /// <exception cref="ExecutionProviderException">CUDA was requested explicitly and cannot engage.</exception>
    /// <exception cref="OnnxRuntimeException">The file is not a valid ONNX model.</exception>
    public EngagedSession Create(string modelPath)
    {
        var device = Settings.Device;
        if (device.Kind != DeviceKind.Cpu)
        {
            var probe = CudaProbe.Probe(device.DeviceId);
            if (probe.Usable)
            {
                try
                {
                    var session = Open(modelPath, o => o.AppendExecutionProvider_CUDA(device.DeviceId));
                    _log.LogInformation("{Model}: CUDA execution provider engaged on device {Id} ({Reason})", Path.GetFileName(modelPath), device.DeviceId, probe.Reason);
                    return new EngagedSession(session, $"cuda:{device.DeviceId}", probe.Reason);
                }
                catch (OnnxRuntimeException ex) when (device.Kind == DeviceKind.Auto)
                {
                    _log.LogWarning("{Model}: CUDA execution provider failed to engage, using CPU: {Error}", Path.GetFileName(modelPath), ex.Message);
                    return new EngagedSession(Open(modelPath, null), "cpu", $"CUDA failed to engage: {ex.Message}");
                }
                catch (OnnxRuntimeException ex)
                {
                    throw new ExecutionProviderException($"--device {device}: the CUDA execution provider failed to engage: {ex.Message}", ex);
                }
            }
            if (device.Kind == DeviceKind.Cuda)
                throw new ExecutionProviderException($"--device {device}: the CUDA execution provider cannot engage: {probe.Reason}. Use --device cpu or auto.");
            _log.LogInformation("{Model}: CPU execution provider engaged (auto: CUDA unavailable: {Reason})", Path.GetFileName(modelPath), probe.Reason);
            return new EngagedSession(Open(modelPath, null), "cpu", $"CUDA unavailable: {probe.Reason}");
        }
        _log.LogInformation("{Model}: CPU execution provider engaged (requested)", Path.GetFileName(modelPath));
        return new EngagedSession(Open(modelPath, null), "cpu", "requested");
    }

    InferenceSession Open(string modelPath, Action<SessionOptions>? configure)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        options.IntraOpNumThreads = Settings.EffectiveIntraOpThreads;
        if (!Settings.AllowSpinning) options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        configure?.Invoke(options);
        return new InferenceSession(modelPath, options);
    }
}
