using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

// `make bench` runs every benchmark; pass BenchmarkDotNet arguments through BENCH_ARGS (e.g. --filter '*Pdq*').
if (args is ["mih", .. var mihArgs]) { Media.Benchmarks.MihBench.Run(mihArgs); return; }
// `shared-catalog URI [N]` measures detection and the PDQ choice on the shared PostgreSQL catalog (README, "Scale-out on PostgreSQL").
if (args is ["shared-catalog", .. var sharedArgs]) { Media.Benchmarks.SharedCatalogBench.Run(sharedArgs); return; }
// `hnsw [options]` runs the HNSW comparison of docs/hnsw-measurement.md instead (see HnswBench).
if (args is ["hnsw", .. var hnswArgs])
{
    Media.Benchmarks.HnswBench.Run(hnswArgs);
    return;
}
var config = DefaultConfig.Instance
    .WithArtifactsPath(Path.Combine(Media.Benchmarks.BenchData.Root, "results"));
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
