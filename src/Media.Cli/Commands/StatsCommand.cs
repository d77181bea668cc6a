using Media.Catalog;
using Media.Application;
using System.CommandLine;
using Media.Index;

namespace Media.Cli.Commands;

/// <summary><c>media stats [--data DIR] [--json]</c>: <c>{"items", "byModality", "packs", "flags"}</c> from the catalog.</summary>
static class StatsCommand
{
    public static Command Create()
    {
        var service = new ServiceOptions();
        var json = CommonOptions.Json();
        var command = new Command("stats", "Counts of the catalog") { json, service.Data, service.Catalog };
        command.SetAction(parse =>
        {
            var dir = service.CatalogLocation(parse);
            if (!Catalogs.Exists(dir))
            {
                CliOutput.Error($"no catalog in {Catalogs.Describe(dir)}");
                return 2;
            }
            CatalogStats s;
            try
            {
                using var catalog = Catalogs.Open(dir);
                s = catalog.Stats();
            }
            catch (CatalogException ex)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
            if (parse.GetValue(json)) CliOutput.Line(new { items = s.Items, byModality = s.ByModality, packs = s.Packs, flags = s.Flags });
            else
            {
                Console.WriteLine($"items: {s.Items}");
                foreach (var (m, n) in s.ByModality) Console.WriteLine($"  {m}: {n}");
                foreach (var (p, n) in s.Packs) Console.WriteLine($"embeddings {p}: {n}");
                foreach (var (f, n) in s.Flags) Console.WriteLine($"flags {f}: {n}");
            }
            return 0;
        });
        return command;
    }
}
