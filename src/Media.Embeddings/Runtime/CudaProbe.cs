using System.Runtime.InteropServices;

namespace Media.Embeddings.Runtime;

/// <summary>
/// Finds out, without ONNX Runtime, whether the CUDA execution provider can engage: its provider
/// library beside <c>libonnxruntime.so</c> (the app folder, or NuGet's <c>runtimes/linux-x64/native</c>),
/// the NVIDIA driver (<c>libcuda.so.1</c>) and a device with the requested ordinal (CUDA driver API
/// <c>cuInit</c> / <c>cuDeviceGetCount</c>). The provider ships only in ONNX Runtime's GPU package,
/// <c>Microsoft.ML.OnnxRuntime.Gpu.Linux</c>, which a build takes with <c>-p:OrtGpu=true</c>.
/// </summary>
public static class CudaProbe
{
    /// <summary>File name of ONNX Runtime's CUDA provider on Linux.</summary>
    public const string ProviderLibrary = "libonnxruntime_providers_cuda.so";

    /// <summary>Result of a probe: <see cref="Usable"/>, else <see cref="Reason"/> names what is missing.</summary>
    public readonly record struct Result(bool Usable, string Reason, int DeviceCount);

    /// <summary>What to do when the provider library is missing.</summary>
    public const string InstallHint = "this build has ONNX Runtime's CPU package; build with the GPU package " +
        "Microsoft.ML.OnnxRuntime.Gpu.Linux (`make ORT_GPU=yes`, or `dotnet publish -p:OrtGpu=true`) from a NuGet feed that serves it, " +
        "with the CUDA 12 and cuDNN 9 runtime libraries installed";

    /// <summary>Where ONNX Runtime's native libraries sit in this app: beside the binaries, or in NuGet's runtime folder.</summary>
    public static string NativeDirectory
    {
        get
        {
            var rid = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
            return File.Exists(Path.Combine(rid, "libonnxruntime.so")) ? rid : AppContext.BaseDirectory;
        }
    }

    /// <summary>Checks the provider library in <paramref name="libraryDirectory"/> (default: <see cref="NativeDirectory"/>) and the driver.</summary>
    public static Result Probe(int deviceId, string? libraryDirectory = null)
    {
        libraryDirectory ??= NativeDirectory;
        var missing = new List<string>();
        var provider = Path.Combine(libraryDirectory, ProviderLibrary);
        if (!File.Exists(provider))
            missing.Add($"{ProviderLibrary} is not in {libraryDirectory} ({InstallHint})");

        var count = DriverDeviceCount(out var driverError);
        if (driverError is not null) missing.Add(driverError);
        else if (deviceId >= count) missing.Add($"CUDA device {deviceId} does not exist (the driver reports {count} device(s))");

        return missing.Count == 0
            ? new Result(true, $"{ProviderLibrary} found and the driver reports {count} CUDA device(s)", count)
            : new Result(false, string.Join("; ", missing), Math.Max(count, 0));
    }

    unsafe static int DriverDeviceCount(out string? error)
    {
        error = null;
        if (!NativeLibrary.TryLoad("libcuda.so.1", out var handle))
        {
            error = "the NVIDIA driver library libcuda.so.1 cannot be loaded (no NVIDIA driver on this machine)";
            return 0;
        }
        try
        {
            if (!NativeLibrary.TryGetExport(handle, "cuInit", out var init) || !NativeLibrary.TryGetExport(handle, "cuDeviceGetCount", out var getCount))
            {
                error = "libcuda.so.1 lacks cuInit/cuDeviceGetCount";
                return 0;
            }
            var rc = ((delegate* unmanaged<uint, int>)init)(0);
            if (rc != 0) { error = $"cuInit failed with CUDA error {rc} (driver present but no usable device)"; return 0; }
            int count;
            rc = ((delegate* unmanaged<int*, int>)getCount)(&count);
            if (rc != 0) { error = $"cuDeviceGetCount failed with CUDA error {rc}"; return 0; }
            if (count == 0) error = "the NVIDIA driver reports no CUDA device";
            return count;
        }
        finally
        {
            NativeLibrary.Free(handle);
        }
    }
}
