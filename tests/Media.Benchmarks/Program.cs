using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

// `catalog` (and its child modes): the catalog store measurement, CatalogStoreBench.cs; not a BenchmarkDotNet suite.
if (args is [var mode, ..] && mode.StartsWith("catalog", StringComparison.Ordinal))
{
    Environment.ExitCode = Media.Benchmarks.CatalogStoreBench.Run(args);
    return;
}

// `make bench` runs every benchmark; pass BenchmarkDotNet arguments through BENCH_ARGS (e.g. --filter '*Pdq*').
var config = DefaultConfig.Instance
    .WithArtifactsPath(Path.Combine(Media.Benchmarks.BenchData.Root, "results"));
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
