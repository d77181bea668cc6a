using System.CommandLine;
using Media.Application;
using Media.Catalog;
using Media.Domain;
using Spectre.Console;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media pack list|activate|drop [--data DIR] [--json]</c>: the pack versions the catalog holds embeddings of, the
/// switch of a pack name's active version (the one search and detection use when several are loaded), and the removal of
/// a version's embeddings. Exit 2 on a bad key, a missing catalog or a refused switch or drop.
/// </summary>
static class PackCommand
{
    public static Command Create()
    {
        var list = new Command("list", "Pack versions with embeddings in the catalog, and which is active");
        var activate = new Command("activate", "Make NAME@VERSION its name's active version (once it covers the catalog)");
        var drop = new Command("drop", "Delete every embedding of NAME@VERSION (never the active version)");
        foreach (var c in new[] { list, activate, drop }) Configure(c);
        return new Command("pack", "Pack versions in the catalog: list, activate, drop") { list, activate, drop };
    }

    static void Configure(Command command)
    {
        var service = new ServiceOptions();
        var json = CommonOptions.Json();
        command.Options.Add(json);
        command.Options.Add(service.Data);
        command.Options.Add(service.Catalog);
        var key = new Argument<string>("NAME@VERSION") { Description = "Pack name and version, as in pack.json" };
        var force = new Option<bool>("--force") { Description = "Activate even though the version does not cover the catalog" };
        if (command.Name != "list") command.Arguments.Add(key);
        if (command.Name == "activate") command.Options.Add(force);
        command.SetAction(parse =>
        {
            var dir = service.CatalogLocation(parse);
            if (!Catalogs.Exists(dir))
            {
                CliOutput.Error($"no catalog in {Catalogs.Describe(dir)}");
                return 2;
            }
            try
            {
                using var catalog = Catalogs.Open(dir);
                var store = (IReprocessStore)catalog;
                var asJson = parse.GetValue(json);
                switch (command.Name)
                {
                    case "list":
                        foreach (var v in store.PackVersions())
                        {
                            if (asJson) CliOutput.Line(new { pack = v.Pack.Name, version = v.Pack.Version, embeddings = v.Embeddings, active = v.Active });
                            else Console.WriteLine($"{v.Pack}{(v.Active ? " (active)" : "")}: {v.Embeddings} embeddings");
                        }
                        return 0;
                    case "activate":
                    {
                        var pack = PackKey.Parse(parse.GetValue(key)!);
                        var previous = store.Activate(pack, parse.GetValue(force));
                        if (asJson) CliOutput.Line(new { pack = pack.Name, version = pack.Version, previous });
                        else Console.WriteLine($"{pack.Name}: active version {pack.Version} (was {previous ?? "none"})");
                        return 0;
                    }
                    default:
                    {
                        var pack = PackKey.Parse(parse.GetValue(key)!);
                        var dropped = store.DropEmbeddings(pack);
                        if (asJson) CliOutput.Line(new { pack = pack.Name, version = pack.Version, dropped });
                        else Console.WriteLine($"{pack}: {dropped} embeddings dropped (indexes are rebuilt at the next start)");
                        return 0;
                    }
                }
            }
            catch (Exception ex) when (ex is CatalogException or FormatException or ArgumentException)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
        });
    }
}
