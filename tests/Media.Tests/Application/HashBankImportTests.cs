using System.Text.Json;
using Media.Application;
using Media.Hashing;

namespace Media.Tests.Application;

/// <summary>What <c>media bank add</c> reads: media files hashed as the reference hasher would, and PDQ lists, all or nothing.</summary>
public sealed class HashBankImportTests : IDisposable
{
    readonly TempDir _tmp = new();
    static readonly string PdqDir = Path.Combine(Paths.Shared, "pdq");

    static (string File, string Pdq, int Quality)[] Reference()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(PdqDir, "reference_hashes.json")));
        return [.. doc.RootElement.GetProperty("images").EnumerateArray()
            .Select(e => (e.GetProperty("file").GetString()!, e.GetProperty("pdq").GetString()!, e.GetProperty("quality").GetInt32()))];
    }

    [Fact]
    public void Photos_are_hashed_to_the_reference_hashers_pdq_and_their_sha256_in_the_order_given()
    {
        var reference = Reference();
        var paths = reference.Select(r => Path.Combine(PdqDir, r.File)).ToArray();
        var contents = HashBankImport.HashFiles(paths);
        Assert.Equal(reference.Length, contents.Count);
        for (var i = 0; i < reference.Length; i++)
        {
            Assert.Equal((reference[i].Pdq, reference[i].Quality), (Convert.ToHexStringLower(contents[i].Pdq!), contents[i].PdqQuality!.Value));
            Assert.Equal(ContentHash.Sha256Hex(File.ReadAllBytes(paths[i])), Convert.ToHexStringLower(contents[i].Sha256!));
            Assert.Equal(Path.GetFullPath(paths[i]), contents[i].Note);
            Assert.Null(contents[i].Chromaprint);
        }
    }

    [Fact]
    public void Audio_gets_its_chromaprint_and_bad_files_are_all_reported_with_nothing_returned()
    {
        var speech = AudioMaterial.Speech(_tmp.Path, "speech.wav", "Seven silent ships sailed south under a pale green sky, carrying cargo to the northern harbour.");
        var blip = AudioMaterial.Sox(_tmp.Path, "blip.wav", "1", "sine", "440");
        var (audio, shortClip) = HashBankImport.HashFiles([speech, blip]) is [var a, var b] ? (a, b) : throw new InvalidOperationException();
        Assert.True(audio.Chromaprint is { Length: > 20 }, $"{audio.Chromaprint?.Length} fingerprint items");
        Assert.Null(audio.Pdq);
        Assert.Null(shortClip.Chromaprint);                       // under about 3 s: matched by SHA-256 only
        Assert.NotNull(shortClip.Sha256);

        File.WriteAllText(_tmp["notes.txt"], "not media");
        File.WriteAllBytes(_tmp["cut.jpg"], File.ReadAllBytes(Path.Combine(PdqDir, "images/labelme-subset/q0122.jpg"))[..200]);
        var good = Path.Combine(PdqDir, "images/labelme-subset/q0291.jpg");
        var ex = Assert.Throws<BankImportException>(() => HashBankImport.HashFiles([good, _tmp["notes.txt"], speech, _tmp["missing.png"], _tmp["cut.jpg"]]));
        Assert.Equal([_tmp["notes.txt"], _tmp["missing.png"], _tmp["cut.jpg"]], ex.Errors.Select(e => e.Source));
        Assert.All(ex.Errors, e => Assert.Equal(0, e.Line));
        Assert.Contains("no such file", ex.Errors[1].Error);
    }

    [Fact]
    public void A_pdq_list_in_the_reference_hashers_form_reads_back_with_quality_and_note()
    {
        var reference = Reference();
        File.WriteAllLines(_tmp["list.csv"], [
            "pdq,quality,note",
            "# exported from the reference hasher",
            .. reference.Select(r => $"{r.Pdq.ToUpperInvariant()},{r.Quality},{r.File}"),
            "",
            $"{reference[0].Pdq}",
            $"{reference[1].Pdq},,\"bridge, \"\"blurred\"\"\"",
        ]);
        var contents = HashBankImport.ReadPdqList(_tmp["list.csv"]);
        Assert.Equal(reference.Length + 2, contents.Count);
        Assert.Equal(reference.Select(r => (r.Pdq, (int?)r.Quality, (string?)r.File)),
            contents.Take(reference.Length).Select(c => (Convert.ToHexStringLower(c.Pdq!), c.PdqQuality, c.Note)));
        Assert.All(contents, c => Assert.Null(c.Sha256));
        Assert.Equal(((int?)null, (string?)null), (contents[^2].PdqQuality, contents[^2].Note));
        Assert.Equal(((int?)null, "bridge, \"blurred\""), (contents[^1].PdqQuality, contents[^1].Note));
    }

    [Fact]
    public void Every_bad_line_is_named_by_its_number_and_nothing_is_returned()
    {
        var good = Reference()[0].Pdq;
        File.WriteAllLines(_tmp["bad.csv"], [
            good + ",100,fine",
            good[..63] + ",100,one digit short",
            "",
            new string('g', 64),
            good + ",101",
            good + ",-3",
            good + ",high",
            good + ",90," + new string('x', HashBankImport.MaxNoteLength + 1),
            "pdq,quality",        // a header only counts on the first line
            good + ",0,fine too",
        ]);
        var ex = Assert.Throws<BankImportException>(() => HashBankImport.ReadPdqList(_tmp["bad.csv"]));
        Assert.Equal([2, 4, 5, 6, 7, 8, 9], ex.Errors.Select(e => e.Line));
        Assert.All(ex.Errors, e => Assert.Equal(_tmp["bad.csv"], e.Source));
        Assert.Contains("not a PDQ hash", ex.Errors[0].Error);
        Assert.Contains("quality '101'", ex.Errors[2].Error);
        Assert.Contains("note", ex.Errors[5].Error);
        Assert.Equal($"{_tmp["bad.csv"]}:2: {ex.Errors[0].Error}", ex.Errors[0].ToString());

        var missing = Assert.Throws<BankImportException>(() => HashBankImport.ReadPdqList(_tmp["nope.csv"]));
        Assert.Equal(_tmp["nope.csv"], Assert.Single(missing.Errors).Source);
    }

    public void Dispose() => _tmp.Dispose();
}
