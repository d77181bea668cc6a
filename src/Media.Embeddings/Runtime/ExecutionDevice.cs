namespace Media.Embeddings.Runtime;

/// <summary>Which execution provider a process asks for.</summary>
public enum DeviceKind
{
    /// <summary>CUDA when its provider library and a device are present, otherwise CPU.</summary>
    Auto,
    /// <summary>ONNX Runtime's CPU execution provider.</summary>
    Cpu,
    /// <summary>CUDA execution provider; fails when it cannot engage.</summary>
    Cuda,
}

/// <summary>A requested device: <c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c> (configuration <c>Media:Device</c>).</summary>
public readonly record struct ExecutionDevice(DeviceKind Kind, int DeviceId = 0)
{
    public static ExecutionDevice Auto => new(DeviceKind.Auto);
    public static ExecutionDevice Cpu => new(DeviceKind.Cpu);

    /// <summary>Parses <c>auto|cpu|cuda[:N]</c>, case-insensitive.</summary>
    /// <exception cref="FormatException">Anything else.</exception>
    public static ExecutionDevice Parse(string? text)
    {
        var s = (text ?? "auto").Trim().ToLowerInvariant();
        if (s is "" or "auto") return Auto;
        if (s == "cpu") return Cpu;
        if (s == "cuda" || s == "gpu") return new(DeviceKind.Cuda);
        if (s.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(5), out var id) && id >= 0)
            return new(DeviceKind.Cuda, id);
        throw new FormatException($"unknown device '{text}': expected auto, cpu, cuda or cuda:N");
    }

    public override string ToString() => Kind switch
    {
        DeviceKind.Auto => "auto",
        DeviceKind.Cpu => "cpu",
        _ => DeviceId == 0 ? "cuda" : $"cuda:{DeviceId}",
    };
}

/// <summary>Options for ONNX Runtime sessions.</summary>
public sealed record SessionSettings
{
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Auto;
    /// <summary>Intra-op threads per session; 0 (the default): one per logical core (<see cref="EffectiveIntraOpThreads"/>).
    /// Not ONNX Runtime's own default, which counts physical cores and on these 2-vCPU VMs picks one, leaving a core idle
    /// during inference (measured in the README's pipeline table).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>The intra-op thread count sessions are opened with: <see cref="IntraOpThreads"/>, or the logical core count.</summary>
    public int EffectiveIntraOpThreads => IntraOpThreads > 0 ? IntraOpThreads : Environment.ProcessorCount;
    /// <summary>Let ONNX Runtime's intra-op threads spin between operators (its default). Off, they sleep, leaving the
    /// cores to decoders running beside inference; the pipeline turns it off.</summary>
    public bool AllowSpinning { get; init; } = true;
}
