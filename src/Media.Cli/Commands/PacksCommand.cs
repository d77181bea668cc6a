using System.CommandLine;
using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media packs [--json] [--verify] DIR...</c>: finds model packs (folders with pack.json, searched recursively) and
/// validates each fully: hashes, every tower's ONNX session, tensor names, types and shapes. With <c>--verify</c> every
/// file is hashed again even when its <see cref="PackStamp"/> vouches for it. Exit 0 when all are ok, 1 otherwise.
/// </summary>
static class PacksCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var device = CommonOptions.Device();
        var dirs = new Argument<DirectoryInfo[]>("DIR") { Description = "Pack folders or folders holding packs", Arity = ArgumentArity.OneOrMore };
        var verify = new Option<bool>("--verify") { Description = "Hash every file again, even those the pack's stamp vouches for (unchanged size and mtime)" };
        var command = new Command("packs", "Find and validate model packs") { json, device, verify, dirs };
        command.SetAction(parse =>
        {
            var factory = new OnnxSessionFactory(CommonOptions.Sessions(parse.GetValue(device) ?? "cpu", 1));
            var allOk = true;
            var found = 0;
            foreach (var dir in parse.GetValue(dirs)!)
            {
                if (!dir.Exists)
                {
                    Report(parse.GetValue(json), dir.FullName, null, false, "no such folder");
                    allOk = false;
                    continue;
                }
                foreach (var manifest in dir.EnumerateFiles(ModelPack.ManifestFileName, SearchOption.AllDirectories).OrderBy(f => f.FullName, StringComparer.Ordinal))
                {
                    found++;
                    var packDir = manifest.DirectoryName!;
                    string? name = null;
                    try
                    {
                        name = ModelPack.ReadManifest(packDir).Name;
                        using var pack = ModelPack.Load(packDir, factory, parse.GetValue(verify));
                        pack.LoadTowers();
                        Report(parse.GetValue(json), packDir, name, true, null);
                    }
                    catch (Exception ex) when (ex is ModelPackException or ExecutionProviderException or IOException)
                    {
                        allOk = false;
                        Report(parse.GetValue(json), packDir, name, false, ex.Message);
                    }
                }
            }
            if (found == 0) CliOutput.Error("no pack.json found");
            return allOk && found > 0 ? 0 : 1;
        });
        return command;
    }

    static void Report(bool json, string path, string? name, bool ok, string? error)
    {
        if (json) CliOutput.Line(new { path, name, ok, error });
        else Console.WriteLine(ok ? $"ok    {name,-24} {path}" : $"FAIL  {name,-24} {path}\n      {error}");
    }
}
