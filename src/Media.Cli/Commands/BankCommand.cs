using System.CommandLine;
using Media.Application;
using Media.Catalog;
using Media.Detection;
using Microsoft.Extensions.Configuration;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media bank create|add|list|disable|enable|remove</c>: hash banks of known content (ThreatExchange HMA's banks),
/// kept in the catalog's store under <c>--data</c> and matched against every item that detection sees.
/// <list type="bullet">
/// <item><c>create NAME [--action LABEL]</c>: an empty, enabled bank whose matches carry LABEL (default <c>review</c>);</item>
/// <item><c>add NAME [FILE...] [--pdq-csv FILE]...</c>: media files (hashed here: SHA-256, PDQ for images, Chromaprint
/// for audio; folders recursively) and PDQ lists (<see cref="HashBankImport.ReadPdqList"/>); all or nothing;</item>
/// <item><c>list</c>: every bank with its action, whether enabled, and its counts;</item>
/// <item><c>disable NAME</c>, <c>enable NAME</c>: stop or resume matching, keeping the contents; <c>remove NAME</c>: delete the bank and its contents.</item>
/// </list>
/// Each takes <c>--data DIR</c> and <c>--json</c> (one object per line: a bank, or for <c>add</c> what was imported).
/// Exit 0 on success; 1 when what <c>add</c> was given has errors (each printed with its file and line; nothing is
/// imported); 2 when the command cannot run (no catalog, no such bank, a bank of that name exists, a bad name or action).
/// </summary>
static class BankCommand
{
    public static Command Create() => new("bank", "Hash banks: known content that every ingested item is matched against")
    {
        CreateCommand(), AddCommand(), ListCommand(), Toggle("disable", false), Toggle("enable", true), RemoveCommand(),
    };

    static Argument<string> Name() => new("NAME") { Description = "Bank name: letters, digits, '_', '-' and '.'" };

    /// <summary>A bank as printed with <c>--json</c>.</summary>
    static object BankJson(HashBank b) => new
    {
        name = b.Name, action = b.Action, enabled = b.Enabled, contents = b.Contents, sha256 = b.Sha256, pdq = b.Pdq, chromaprint = b.Chromaprint,
        createdAt = b.CreatedAt,
    };

    static string BankText(HashBank b) =>
        $"{b.Name}: action {b.Action}, {(b.Enabled ? "enabled" : "disabled")}, {b.Contents} contents (sha256 {b.Sha256}, pdq {b.Pdq}, chromaprint {b.Chromaprint})";

    /// <summary>Runs <paramref name="body"/> on the banks under the data folder (<c>--data</c>), mapping refusals to exit 2.</summary>
    /// <param name="service">Where <c>--data</c> is.</param>
    /// <param name="parse">The command line.</param>
    /// <param name="mustExist">Refuse a folder without a catalog instead of creating one (every command but <c>create</c>).</param>
    /// <param name="body">The command's work; returns the exit code. <see cref="HashBankException"/> from it exits 2 with its message.</param>
    static int WithStore(ServiceOptions service, ParseResult parse, bool mustExist, Func<IHashBankStore, int> body)
    {
        var dir = service.CatalogLocation(parse);
        if (mustExist && !Catalogs.Exists(dir))
        {
            CliOutput.Error($"no catalog in {Catalogs.Describe(dir)}");
            return 2;
        }
        try
        {
            using var store = Catalogs.OpenBanks(dir);
            return body(store);
        }
        catch (Exception ex) when (ex is CatalogException or HashBankException)
        {
            CliOutput.Error(ex.Message);
            return 2;
        }
    }

    static Command CreateCommand()
    {
        var service = new ServiceOptions();
        var json = CommonOptions.Json();
        var name = Name();
        var action = new Option<string?>("--action") { Description = $"Action label that this bank's matches carry, e.g. review or block (default {HashBank.DefaultAction})" };
        var command = new Command("create", "Create an empty, enabled bank") { name, action, service.Data, service.Catalog, json };
        command.SetAction(parse => WithStore(service, parse, mustExist: false, store =>
        {
            var bank = store.CreateBank(parse.GetValue(name)!, parse.GetValue(action) ?? HashBank.DefaultAction);
            if (parse.GetValue(json)) CliOutput.Line(BankJson(bank));
            else Console.WriteLine($"created {BankText(bank)}");
            return 0;
        }));
        return command;
    }

    static Command AddCommand()
    {
        var service = new ServiceOptions();
        var json = CommonOptions.Json();
        var name = Name();
        var files = new Argument<string[]>("FILE") { Description = "Media files to hash into the bank (folders are walked recursively)", Arity = ArgumentArity.ZeroOrMore };
        var csv = new Option<string[]>("--pdq-csv")
        {
            Description = "A PDQ list: one 'PDQ[,QUALITY[,NOTE]]' per line (64 hex digits, quality 0-100), as pdq-photo-hasher prints (repeatable)",
        };
        var command = new Command("add", "Add media files (hashed here) or PDQ lists to a bank, all or nothing") { name, files, csv, service.Data, service.Catalog, json };
        command.SetAction(parse =>
        {
            var bankName = parse.GetValue(name)!;
            var paths = InputFiles.Expand(parse.GetValue(files) ?? []).ToArray();
            var lists = parse.GetValue(csv) ?? [];
            if (paths.Length == 0 && lists.Length == 0)
            {
                CliOutput.Error("nothing to add: give media files or --pdq-csv FILE");
                return 2;
            }
            return WithStore(service, parse, mustExist: true, store =>
            {
                // Refuse an unknown bank before hashing anything.
                if (store.FindBank(bankName) is null) throw new HashBankException($"no bank named '{bankName}'; create it with: media bank create {bankName}");
                var contents = new List<BankContent>();
                var errors = new List<BankImportError>();
                foreach (var list in lists)
                    try { contents.AddRange(HashBankImport.ReadPdqList(list)); }
                    catch (BankImportException ex) { errors.AddRange(ex.Errors); }
                if (paths.Length > 0)
                    try { contents.AddRange(HashBankImport.HashFiles(paths)); }
                    catch (BankImportException ex) { errors.AddRange(ex.Errors); }
                if (errors.Count > 0)
                {
                    foreach (var e in errors.Take(20)) CliOutput.Error(e.ToString());
                    if (errors.Count > 20) CliOutput.Error($"… and {errors.Count - 20} more");
                    CliOutput.Error($"nothing was added to bank '{bankName}': {errors.Count} problem(s) in the input");
                    return 1;
                }
                var result = store.AddToBank(bankName, contents);
                var bank = store.FindBank(bankName)!;
                var minQuality = CommonOptions.Configuration.GetSection("Media:Detection:Image").Get<ModalityPolicy>()?.PdqMinQuality ?? new ModalityPolicy().PdqMinQuality;
                var lowQuality = contents.Count(c => c.Pdq is not null && c.PdqQuality < minQuality);
                if (parse.GetValue(json))
                    CliOutput.Line(new { bank = bank.Name, added = result.Added, alreadyPresent = result.AlreadyPresent, lowQuality, contents = bank.Contents });
                else
                {
                    Console.WriteLine($"{bank.Name}: added {result.Added}, already present {result.AlreadyPresent}; {bank.Contents} contents");
                    if (lowQuality > 0)
                        Console.WriteLine($"{lowQuality} of them have PDQ quality under {minQuality}: they match by SHA-256 only (Media:Detection:Image:PdqMinQuality)");
                }
                return 0;
            });
        });
        return command;
    }

    static Command ListCommand()
    {
        var service = new ServiceOptions();
        var json = CommonOptions.Json();
        var command = new Command("list", "Every bank: action, enabled, counts") { service.Data, service.Catalog, json };
        command.SetAction(parse => WithStore(service, parse, mustExist: true, store =>
        {
            foreach (var b in store.Banks())
                if (parse.GetValue(json)) CliOutput.Line(BankJson(b));
                else Console.WriteLine(BankText(b));
            return 0;
        }));
        return command;
    }

    static Command Toggle(string verb, bool enabled)
    {
        var service = new ServiceOptions();
        var json = CommonOptions.Json();
        var name = Name();
        var command = new Command(verb, enabled ? "Match against this bank again" : "Stop matching against this bank, keeping its contents") { name, service.Data, service.Catalog, json };
        command.SetAction(parse => WithStore(service, parse, mustExist: true, store =>
        {
            var bank = store.SetBankEnabled(parse.GetValue(name)!, enabled);
            if (parse.GetValue(json)) CliOutput.Line(BankJson(bank));
            else Console.WriteLine(BankText(bank));
            return 0;
        }));
        return command;
    }

    static Command RemoveCommand()
    {
        var service = new ServiceOptions();
        var json = CommonOptions.Json();
        var name = Name();
        var command = new Command("remove", "Delete a bank and its contents (flags already recorded keep its name)") { name, service.Data, service.Catalog, json };
        command.SetAction(parse => WithStore(service, parse, mustExist: true, store =>
        {
            var bankName = parse.GetValue(name)!;
            var bank = store.FindBank(bankName) ?? throw new HashBankException($"no bank named '{bankName}'");
            store.RemoveBank(bankName);
            if (parse.GetValue(json)) CliOutput.Line(new { removed = bank.Name, contents = bank.Contents });
            else Console.WriteLine($"removed bank {bank.Name} and its {bank.Contents} contents");
            return 0;
        }));
        return command;
    }
}
