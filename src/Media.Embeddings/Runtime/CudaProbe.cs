using System.Runtime.InteropServices;

namespace Media.Embeddings.Runtime;

/// <summary>
/// Finds out, without ONNX Runtime, whether the CUDA execution provider can engage: its provider
/// library next to the binaries, the NVIDIA driver (<c>libcuda.so.1</c>) and a device with the
/// requested ordinal (CUDA driver API <c>cuInit</c> / <c>cuDeviceGetCount</c>).
/// </summary>
public static class CudaProbe
{
    /// <summary>File name of ONNX Runtime's CUDA provider on Linux.</summary>
    public const string ProviderLibrary = "libonnxruntime_providers_cuda.so";

    /// <summary>Result of a probe: <see cref="Usable"/>, else <see cref="Reason"/> names what is missing.</summary>
    public readonly record struct Result(bool Usable, string Reason, int DeviceCount);

    /// <summary>Checks the provider library in <paramref name="libraryDirectory"/> (default: the app's folder) and the driver.</summary>
    public static Result Probe(int deviceId, string? libraryDirectory = null)
    {
        libraryDirectory ??= AppContext.BaseDirectory;
        var missing = new List<string>();
        var provider = Path.Combine(libraryDirectory, ProviderLibrary);
        if (!File.Exists(provider))
            missing.Add($"{ProviderLibrary} is not in {libraryDirectory} (run `make setup` on a GPU host: it fetches com.github.asus4.onnxruntime.linux-x64-gpu; or build with -p:UseOrtNuGet=true)");

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
