using System.CommandLine;
using Media.Application;
using Media.Detection;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media evaluate [--data DIR] --truth FILE [--json] [--target-precision P] [--policy FILE --pack DIR]</c>:
/// precision, recall, F1, ROC AUC and the threshold that reaches the target precision, per task and method, on the
/// user's own labelled pairs and items. One JSON object per (task, method) with <c>--json</c>.
/// </summary>
static class EvaluateCommand
{
    public static Command Create()
    {
        var service = new ServiceOptions();
        var json = CommonOptions.Json();
        var truth = new Option<FileInfo>("--truth") { Description = "Labelled pairs and items (JSON, see README)", Required = true };
        var target = new Option<double>("--target-precision") { Description = "Report the threshold reaching this precision", DefaultValueFactory = _ => 0.99 };
        var command = new Command("evaluate", "Measure the detection thresholds on labelled data") { json, truth, target };
        service.AddTo(command);
        service.AddDetectionTo(command);
        command.SetAction(parse =>
        {
            var dir = service.CatalogLocation(parse);
            if (!Catalogs.Exists(dir)) { CliOutput.Error($"no catalog in {Catalogs.Describe(dir)}: ingest first"); return 2; }
            var options = service.Build(parse, WorkerRoles.None);
            var truthFile = parse.GetValue(truth)!;
            var packs = new List<ModelPack>();
            try
            {
                var file = TruthFile.Load(truthFile.FullName);
                using var catalog = Catalogs.Open(dir);
                var store = new IndexedCatalog(catalog);
                ConceptRule? concepts = null;
                if (options.PolicyFile is { } policy)
                {
                    var factory = new OnnxSessionFactory(options.Sessions);
                    packs.AddRange(options.PackDirectories.Select(p => ModelPack.Load(p, factory)));
                    // Concepts are evaluated on labelled items; a policy of classifications only has none to evaluate.
                    var loaded = ConceptPolicy.Load(policy);
                    if (loaded.Concepts.Length > 0)
                        concepts = ConceptReferences.Build(loaded, Path.GetDirectoryName(Path.GetFullPath(policy))!, packs, options.AllowNonSemantic);
                }
                var evaluator = new TruthEvaluator(store, options.Detection, concepts, options.AllowNonSemantic);
                var reports = evaluator.Evaluate(file, truthFile.DirectoryName!, parse.GetValue(target));
                foreach (var u in evaluator.Unresolved) CliOutput.Error($"warning: '{u}' is not in the catalog; its labels are left out");
                if (reports.Count == 0) CliOutput.Error("nothing to evaluate: no labelled media is in the catalog with a usable method (semantic packs only, unless --allow-nonsemantic)");
                foreach (var r in reports)
                {
                    if (parse.GetValue(json)) CliOutput.Line(r);
                    else Console.WriteLine($"{r.Task,-16} {r.Method,-24} n={r.N,-5} P={Fmt(r.Precision)} R={Fmt(r.Recall)} F1={Fmt(r.F1)} AUC={Fmt(r.RocAuc)} at {r.Threshold}; " +
                                           $"precision ≥ {r.TargetPrecision} at {(r.ThresholdAtTarget is { } t ? t.ToString() : "none")} (recall {Fmt(r.RecallAtTarget)})");
                }
                return 0;
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or Media.Catalog.CatalogException or ModelPackException or ExecutionProviderException or Media.Codecs.MediaRejectedException)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
            finally
            {
                foreach (var p in packs) p.Dispose();
            }
        });
        return command;
    }

    static string Fmt(double? v) => v is { } x ? x.ToString("0.###") : "n/a";
}
