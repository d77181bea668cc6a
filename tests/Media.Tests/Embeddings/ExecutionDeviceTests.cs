using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;

namespace Media.Tests.Embeddings;

public class ExecutionDeviceTests
{
    static readonly string Model = Path.Combine(Paths.ColorClip, "text_model.onnx");

    [Theory]
    [InlineData("auto", DeviceKind.Auto, 0)]
    [InlineData("CPU", DeviceKind.Cpu, 0)]
    [InlineData("cuda", DeviceKind.Cuda, 0)]
    [InlineData("cuda:3", DeviceKind.Cuda, 3)]
    public void Parses_devices(string text, DeviceKind kind, int id) => Assert.Equal(new ExecutionDevice(kind, id), ExecutionDevice.Parse(text));

    [Theory]
    [InlineData("tpu")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:x")]
    public void Rejects_unknown_devices(string text) => Assert.Contains("expected auto, cpu, cuda or cuda:N", Assert.Throws<FormatException>(() => ExecutionDevice.Parse(text)).Message);

    [Fact]
    public void Cpu_engages_the_cpu_provider()
    {
        using var s = new OnnxSessionFactory(new SessionSettings { Device = ExecutionDevice.Cpu }).Create(Model);
        Assert.Equal("cpu", s.Provider);
    }

    [Fact]
    public void Auto_engages_cuda_when_it_can_and_falls_back_to_cpu_with_the_reason_otherwise()
    {
        var probe = CudaProbe.Probe(0);
        using var s = new OnnxSessionFactory(new SessionSettings { Device = ExecutionDevice.Auto }).Create(Model);
        if (probe.Usable)
        {
            Assert.Equal("cuda:0", s.Provider);
        }
        else
        {
            Assert.Equal("cpu", s.Provider);
            Assert.Contains(probe.Reason, s.Reason);
        }
    }

    [Fact]
    public void Cuda_engages_on_a_gpu_host_and_otherwise_fails_fast_naming_what_is_missing()
    {
        var factory = new OnnxSessionFactory(new SessionSettings { Device = ExecutionDevice.Parse("cuda") });
        if (CudaProbe.Probe(0).Usable)
        {
            using var s = factory.Create(Model);
            Assert.Equal("cuda:0", s.Provider);
            return;
        }
        var ex = Assert.Throws<ExecutionProviderException>(() => factory.Create(Model));
        Assert.Contains("--device cuda", ex.Message);
        var providerPresent = File.Exists(Path.Combine(CudaProbe.NativeDirectory, CudaProbe.ProviderLibrary));
        Assert.Contains(providerPresent ? "libcuda.so.1" : CudaProbe.ProviderLibrary, ex.Message);
        if (!providerPresent) Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux", ex.Message);
    }

    [Fact]
    public void Probe_names_a_missing_provider_library_and_a_nonexistent_device()
    {
        using var empty = new TempDir();
        var r = CudaProbe.Probe(7, empty.Path);
        Assert.False(r.Usable);
        Assert.Contains($"{CudaProbe.ProviderLibrary} is not in {empty.Path}", r.Reason);
    }
}
