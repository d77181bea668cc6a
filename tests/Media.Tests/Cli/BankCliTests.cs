using System.Text.Json;

namespace Media.Tests.Cli;

/// <summary><c>media bank</c> and its matches in <c>media ingest</c>, through the real executable.</summary>
public class BankCliTests
{
    static string Photo(string relative) => Path.Combine(Paths.Shared, "pdq", "images", relative);

    static JsonElement[] BankFlags(JsonElement line) =>
        [.. line.GetProperty("flags").EnumerateArray().Where(f => f.GetProperty("kind").GetString() == "bank_match")];

    static CliRunner.Result Ok(params string[] args)
    {
        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode == 0, $"media {string.Join(' ', args)} exited {r.ExitCode}: {r.Stderr}");
        return r;
    }

    /// <summary>The reference hasher's PDQ line (hash,quality,file) of one photo, from ../shared/pdq/reference_hashes.json.</summary>
    static string ReferenceLine(string relative)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Paths.Shared, "pdq", "reference_hashes.json")));
        var e = doc.RootElement.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("file").GetString() == $"images/{relative}");
        return $"{e.GetProperty("pdq").GetString()},{e.GetProperty("quality").GetInt32()},{relative}";
    }

    [Fact]
    public void Banks_made_with_the_cli_flag_ingested_edits_until_disabled_or_removed()
    {
        using var tmp = new TempDir();
        var data = tmp["data"];
        var created = Assert.Single(Ok("bank", "create", "known", "--action", "block", "--data", data, "--json").JsonLines());
        Assert.Equal(("known", "block", true, 0), (created.GetProperty("name").GetString(), created.GetProperty("action").GetString(),
            created.GetProperty("enabled").GetBoolean(), created.GetProperty("contents").GetInt32()));
        var added = Assert.Single(Ok("bank", "add", "known", Photo("bridge-mods/aaa-orig.jpg"), "--data", data, "--json").JsonLines());
        Assert.Equal((1, 0, 1), (added.GetProperty("added").GetInt32(), added.GetProperty("alreadyPresent").GetInt32(), added.GetProperty("contents").GetInt32()));

        Ok("bank", "create", "refs", "--data", data);
        File.WriteAllLines(tmp["refs.csv"], ["pdq,quality,note", ReferenceLine("labelme-subset/q0291.jpg")]);
        Ok("bank", "add", "refs", "--pdq-csv", tmp["refs.csv"], "--data", data);
        var list = Ok("bank", "list", "--data", data, "--json").JsonLines();
        Assert.Equal([("known", "block", 1, 1, 1), ("refs", "review", 1, 0, 1)], list.Select(b => (b.GetProperty("name").GetString(), b.GetProperty("action").GetString(),
            b.GetProperty("contents").GetInt32(), b.GetProperty("sha256").GetInt32(), b.GetProperty("pdq").GetInt32())));

        var input = tmp.CopyFolder(Photo("bridge-mods"), "in");
        File.Copy(Photo("labelme-subset/q0122.jpg"), Path.Combine(input, "unrelated-q0122.jpg"));
        File.Copy(Photo("labelme-subset/q2821.jpg"), Path.Combine(input, "unrelated-q2821.jpg"));
        Ffmpeg.Run("-i", Photo("labelme-subset/q0291.jpg"), "-vf", "scale=iw/2:-2", Path.Combine(input, "q0291-half.jpg"));
        var lines = Ok("ingest", "--data", data, "--json", input).JsonLines().ToDictionary(l => Path.GetFileName(l.GetProperty("path").GetString()!));
        Assert.Equal(15, lines.Count);
        foreach (var (name, line) in lines.Where(l => !l.Key.StartsWith("unrelated") && !l.Key.StartsWith("q0291")))
        {
            var flag = Assert.Single(BankFlags(line));
            Assert.Equal(["kind", "bank", "method", "distance", "threshold", "action"], flag.EnumerateObject().Select(p => p.Name));
            Assert.Equal(("known", "block", name == "aaa-orig.jpg" ? "sha256" : "pdq"),
                (flag.GetProperty("bank").GetString(), flag.GetProperty("action").GetString(), flag.GetProperty("method").GetString()));
            Assert.True(flag.GetProperty("distance").GetDouble() <= flag.GetProperty("threshold").GetDouble(), name);
        }
        var half = Assert.Single(BankFlags(lines["q0291-half.jpg"]));
        Assert.Equal(("refs", "review", "pdq", 31.0), (half.GetProperty("bank").GetString(), half.GetProperty("action").GetString(),
            half.GetProperty("method").GetString(), half.GetProperty("threshold").GetDouble()));
        Assert.Empty(BankFlags(lines["unrelated-q0122.jpg"]));
        Assert.Empty(BankFlags(lines["unrelated-q2821.jpg"]));
        // The banks' actions are what the items' resolved actions come from.
        Assert.Equal("block", lines["blur-a-lot.jpg"].GetProperty("action").GetString());
        Assert.Equal("review", lines["q0291-half.jpg"].GetProperty("action").GetString());
        Assert.Equal(JsonValueKind.Null, lines["unrelated-q0122.jpg"].GetProperty("action").ValueKind);
        Assert.Equal(12 + 1, Ok("stats", "--data", data, "--json").JsonLines()[0].GetProperty("flags").GetProperty("bank_match").GetInt32());

        // Disabled: neither new edits (the rotations) nor exact duplicates of matched items match "known"; "refs" still does.
        Assert.False(Assert.Single(Ok("bank", "disable", "known", "--data", data, "--json").JsonLines()).GetProperty("enabled").GetBoolean());
        // --rescan: the files ingested above are read again (not skipped by their file stamps), so they come back as exact duplicates.
        var again = Ok("ingest", "--data", data, "--json", "--rescan", Photo("dih"), input).JsonLines();
        Assert.Equal(8 + 15, again.Length);
        Assert.DoesNotContain(again.SelectMany(BankFlags), f => f.GetProperty("bank").GetString() == "known");
        var duplicateHalf = again.Single(l => l.GetProperty("path").GetString()!.EndsWith("q0291-half.jpg"));
        Assert.Equal("duplicate", duplicateHalf.GetProperty("status").GetString());
        Assert.Equal("refs", Assert.Single(BankFlags(duplicateHalf)).GetProperty("bank").GetString());

        Ok("bank", "enable", "known", "--data", data);
        Ok("bank", "remove", "refs", "--data", data);
        Assert.Equal(["known"], Ok("bank", "list", "--data", data, "--json").JsonLines().Select(b => b.GetProperty("name").GetString()));
        var third = Ok("ingest", "--data", data, "--json", "--rescan", Path.Combine(input, "q0291-half.jpg"), Photo("dih/bridge-2-rotate-90.jpg")).JsonLines();
        Assert.Empty(BankFlags(third.Single(l => l.GetProperty("path").GetString()!.EndsWith("q0291-half.jpg"))));
        Assert.Equal("known", Assert.Single(BankFlags(third.Single(l => l.GetProperty("path").GetString()!.EndsWith("rotate-90.jpg")))).GetProperty("bank").GetString());
    }

    [Fact]
    public void Bad_input_is_named_and_nothing_is_half_imported()
    {
        using var tmp = new TempDir();
        var data = tmp["data"];
        var list = CliRunner.Run("bank", "list", "--data", data);
        Assert.Equal(2, list.ExitCode);
        Assert.Contains("no catalog", list.Stderr);
        Ok("bank", "create", "known", "--data", data);
        var twice = CliRunner.Run("bank", "create", "known", "--data", data);
        Assert.Equal(2, twice.ExitCode);
        Assert.Contains("exists", twice.Stderr);
        Assert.Equal(2, CliRunner.Run("bank", "create", "two words", "--data", data).ExitCode);

        File.WriteAllLines(tmp["list.csv"], [ReferenceLine("labelme-subset/q0291.jpg"), "d8f8f0ce,100,too short", ReferenceLine("labelme-subset/q1050.jpg") + ",extra", "x,y"]);
        var bad = CliRunner.Run("bank", "add", "known", "--pdq-csv", tmp["list.csv"], Photo("bridge-mods/aaa-orig.jpg"), tmp["list.csv"], "--data", data);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains($"{tmp["list.csv"]}:2: 'd8f8f0ce' is not a PDQ hash", bad.Stderr);
        Assert.Contains($"{tmp["list.csv"]}:4:", bad.Stderr);
        Assert.Contains($"{tmp["list.csv"]}: unrecognised format", bad.Stderr);   // the list given as a media file
        Assert.DoesNotContain(":3:", bad.Stderr);                                   // a note may hold commas
        Assert.Contains("nothing was added", bad.Stderr);
        Assert.Equal(0, Assert.Single(Ok("bank", "list", "--data", data, "--json").JsonLines()).GetProperty("contents").GetInt32());

        var unknown = CliRunner.Run("bank", "add", "missing", Photo("bridge-mods/aaa-orig.jpg"), "--data", data);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("no bank named 'missing'", unknown.Stderr);
        Assert.Equal(2, CliRunner.Run("bank", "disable", "missing", "--data", data).ExitCode);
        Assert.Equal(2, CliRunner.Run("bank", "remove", "missing", "--data", data).ExitCode);

        // Adding the same things twice writes them once.
        File.WriteAllLines(tmp["good.csv"], [ReferenceLine("labelme-subset/q0291.jpg")]);
        Ok("bank", "add", "known", "--pdq-csv", tmp["good.csv"], Photo("bridge-mods/aaa-orig.jpg"), "--data", data);
        var repeat = Assert.Single(Ok("bank", "add", "known", "--pdq-csv", tmp["good.csv"], Photo("bridge-mods/aaa-orig.jpg"), "--data", data, "--json").JsonLines());
        Assert.Equal((0, 2, 2), (repeat.GetProperty("added").GetInt32(), repeat.GetProperty("alreadyPresent").GetInt32(), repeat.GetProperty("contents").GetInt32()));
    }
}
