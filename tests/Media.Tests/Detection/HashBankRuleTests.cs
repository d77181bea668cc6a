using Media.Application;
using Media.Catalog;
using Media.Contracts.V1;
using Media.Detection;
using Media.Domain;
using Media.Embeddings.Pipeline;
using Media.Hashing;

namespace Media.Tests.Detection;

/// <summary>
/// Hash banks in detection: real photographs of ../shared/pdq and edits of them made with ffmpeg, encoded by the real
/// encode stage (no packs) and run through the detector with <see cref="HashBankRule"/>, as the detect worker does.
/// </summary>
public sealed class HashBankRuleTests : IAsyncLifetime
{
    static readonly string Images = Path.Combine(Paths.Shared, "pdq", "images");
    static string Photo(string relative) => Path.Combine(Images, relative);

    /// <summary>The photos put in the bank.</summary>
    static readonly string[] Known = ["bridge-mods/aaa-orig.jpg", "labelme-subset/q0291.jpg", "labelme-subset/q0746.jpg", "labelme-subset/q1050.jpg"];
    /// <summary>Photos that are not in the bank nor edits of one (quality 100; q0003/q0004 have quality 3 and 4 and are left out).</summary>
    static readonly string[] Unrelated = ["labelme-subset/q0122.jpg", "labelme-subset/q2821.jpg"];

    readonly TempDir _tmp = new();
    SqliteCatalog _catalog = null!;
    IndexedCatalog _store = null!;
    HashBankRule _rule = null!;
    DuplicateDetector _detector = null!;
    EncodeStage _encode = null!;

    public Task InitializeAsync()
    {
        _catalog = SqliteCatalog.Open(_tmp["data"]);
        _store = new IndexedCatalog(_catalog);
        _rule = new HashBankRule(_catalog, new DetectionPolicy());
        _detector = new DuplicateDetector(_store, new DetectionPolicy(), [_rule]);
        _encode = new EncodeStage([], sha => _store.Find(sha) is not null);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _encode.DisposeAsync();
        _store.Dispose();
        _catalog.Dispose();
        _tmp.Dispose();
    }

    async Task<MediaEncoded> Encode(string path) =>
        Assert.Single(await _encode.EncodeAsync([new MediaSubmitted(Guid.NewGuid(), Guid.NewGuid(), new MediaSource(Path: path))]));

    async Task<SubmissionRecord> Process(string path) => _detector.Process(await Encode(path));

    static CatalogFlag[] BankFlags(SubmissionRecord r) => [.. r.Flags.Where(f => f.Kind == FlagKind.BankMatch)];

    void Bank(string name, string action, params string[] photos)
    {
        _catalog.CreateBank(name, action);
        _catalog.AddToBank(name, HashBankImport.HashFiles([.. photos.Select(Photo)]));
    }

    /// <summary>A photo's PDQ hash alone, as a line of a PDQ list would give it.</summary>
    static BankContent PdqOnly(string photo) => HashBankImport.HashFiles([Photo(photo)]).Single() with { Sha256 = null, Note = "from a list" };

    /// <summary>Half size, recompressed at low quality, brightened: edits that keep a small photo within PDQ's 31 bits.</summary>
    string[] Edits(string photo)
    {
        var dir = _tmp["edits"];
        Directory.CreateDirectory(dir);
        var stem = Path.GetFileNameWithoutExtension(photo);
        var half = Path.Combine(dir, $"{stem}-half.jpg");
        var recompressed = Path.Combine(dir, $"{stem}-q25.jpg");
        var bright = Path.Combine(dir, $"{stem}-bright.png");
        Ffmpeg.Run("-i", Photo(photo), "-vf", "scale=iw/2:-2", half);
        Ffmpeg.Run("-i", Photo(photo), "-q:v", "25", recompressed);
        Ffmpeg.Run("-i", Photo(photo), "-vf", "eq=brightness=0.1", bright);
        return [half, recompressed, bright];
    }

    /// <summary>The smallest Hamming distance between the item's dihedral hashes and the PDQ hash of a known photo, computed here.</summary>
    static int Distance(MediaEncoded item, string knownPhoto)
    {
        var known = PdqHash.FromBytes(HashBankImport.HashFiles([Photo(knownPhoto)])[0].Pdq);
        return item.PdqDihedral!.Min(h => PdqHash.Parse(h).HammingDistance(known));
    }

    [Fact]
    public async Task Edits_of_banked_photos_are_flagged_with_the_banks_action_even_in_an_empty_catalog()
    {
        Bank("known", "block", Known);
        var edited = new List<(string Path, string Of)>();
        foreach (var mod in Directory.GetFiles(Path.Combine(Images, "bridge-mods")).Concat(Directory.GetFiles(Path.Combine(Images, "dih"))).Order(StringComparer.Ordinal))
            if (Path.GetFileName(mod) is not ("aaa-orig.jpg" or "bridge-1-original.jpg")) edited.Add((mod, Known[0]));
        foreach (var photo in Known[1..])
            edited.AddRange(Edits(photo).Select(e => (e, photo)));
        Assert.Equal(18 + 9, edited.Count);

        Assert.Equal(0, _catalog.Stats().Items);
        foreach (var (path, of) in edited)
        {
            var item = await Encode(path);
            var result = _detector.Process(item);
            var flag = Assert.Single(BankFlags(result));
            Assert.Equal(("known", "block", "pdq", 31.0), (flag.Label, flag.Action, flag.Method, flag.Threshold));
            Assert.Equal(Distance(item, of), flag.Distance);
            Assert.True(flag.Distance <= 31, $"{path}: {flag.Distance} bits");
        }
        // The first edit was processed against an empty catalog and still matched; every later one matched too, whatever
        // the catalog held by then.
        Assert.Equal(edited.Count, _catalog.Stats().Items);
    }

    [Fact]
    public async Task Unrelated_photos_and_low_quality_photos_do_not_match()
    {
        Bank("known", "block", Known);
        foreach (var path in Unrelated.Select(Photo).Concat(Unrelated.SelectMany(Edits)))
            Assert.Empty(BankFlags(await Process(path)));

        // A banked photo of quality 3 matches its exact bytes only; an edit of it is not matched by PDQ.
        Bank("low", "review", "labelme-subset/q0003.jpg");
        var lowQuality = await Encode(Photo("labelme-subset/q0003.jpg"));
        Assert.True(lowQuality.PdqQuality < 50);
        Assert.Equal(["sha256"], BankFlags(_detector.Process(lowQuality)).Select(f => f.Method));
        var half = Path.Combine(_tmp.Path, "q0003-half.jpg");
        Ffmpeg.Run("-i", Photo("labelme-subset/q0003.jpg"), "-vf", "scale=iw/2:-2", half);
        Assert.Empty(BankFlags(await Process(half)));
    }

    [Fact]
    public async Task A_disabled_bank_does_not_match_and_changes_from_another_process_apply_to_the_next_item()
    {
        Bank("known", "block", Known[0]);
        var blur = Photo("bridge-mods/blur-a-lot.jpg");
        Assert.Single(BankFlags(await Process(blur)));

        // Another process (its own connection to the same file) disables the bank, then re-enables it, then removes it.
        using var cli = SqliteCatalog.Open(_tmp["data"]);
        cli.SetBankEnabled("known", false);
        Assert.Empty(BankFlags(await Process(Photo("bridge-mods/sharpen-a-lot.jpg"))));
        Assert.Empty(BankFlags(await Process(blur)));                  // an exact duplicate now, still no bank match
        cli.SetBankEnabled("known", true);
        Assert.Equal("known", Assert.Single(BankFlags(await Process(Photo("bridge-mods/shrink-a-lot.jpg")))).Label);
        var before = _rule.IndexedContents;

        // A new bank, filled from a PDQ list, is picked up incrementally.
        cli.CreateBank("list", "escalate");
        cli.AddToBank("list", [PdqOnly("labelme-subset/q0291.jpg")]);
        var flags = BankFlags(await Process(Edits("labelme-subset/q0291.jpg")[0]));
        Assert.Equal(("list", "escalate"), (Assert.Single(flags).Label, flags[0].Action));
        Assert.Equal(before + 1, _rule.IndexedContents);

        cli.RemoveBank("known");
        Assert.Empty(BankFlags(await Process(Photo("bridge-mods/high-saturation.jpg"))));
        Assert.Equal(1, _rule.IndexedContents);                        // rebuilt without the removed bank's contents
        Assert.Equal(cli.BankGeneration, _rule.Generation);
    }

    [Fact]
    public async Task Exact_duplicates_are_matched_on_the_catalogued_copys_hashes_and_one_flag_per_bank_by_name()
    {
        Bank("z-exact", "block", Known[0]);
        Bank("a-lists", "review");
        _catalog.AddToBank("a-lists", [PdqOnly(Known[0])]);

        var original = await Process(Photo(Known[0]));
        Assert.Equal(SubmissionStatus.Indexed, original.Status);
        Assert.Equal([("a-lists", "pdq", "review"), ("z-exact", "sha256", "block")],
            BankFlags(original).Select(f => (f.Label!, f.Method, f.Action!)));

        // The same bytes again: not re-encoded (no hashes in the message), yet matched like the original.
        var again = await Encode(Photo("dih/bridge-1-original.jpg"));
        Assert.True(again.AlreadyIndexed);
        Assert.Null(again.Pdq);
        var duplicate = _detector.Process(again);
        Assert.Equal(SubmissionStatus.Duplicate, duplicate.Status);
        Assert.Equal(FlagKind.ExactDuplicate, duplicate.Flags[0].Kind);
        Assert.Equal(BankFlags(original), BankFlags(duplicate));

        // A duplicate of an edit that only PDQ ties to the bank is matched by PDQ on the stored hashes.
        var edit = Photo("bridge-mods/sharpen-a-lot.jpg");
        var first = BankFlags(await Process(edit));
        var copy = Path.Combine(_tmp.Path, "copy-of-edit.jpg");
        File.Copy(edit, copy);
        var dup = await Process(copy);
        Assert.Equal(SubmissionStatus.Duplicate, dup.Status);
        Assert.Equal(["pdq", "pdq"], BankFlags(dup).Select(f => f.Method));
        Assert.Equal(first, BankFlags(dup));
    }

    [Fact]
    public void Pdq_list_entries_match_when_their_quality_is_unknown_or_sufficient()
    {
        var hash = PdqHash.Parse("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22");
        var near = new PdqHash(hash.W0 ^ 0b111, hash.W1, hash.W2, hash.W3);         // 3 bits away
        var far = new PdqHash(hash.W0 ^ 0xFFFFFFFF, hash.W1, hash.W2, hash.W3);     // 32 bits away
        _catalog.CreateBank("unknown-quality", "review");
        _catalog.AddToBank("unknown-quality", [new BankContent(0, 0, null, hash.ToBytes(), null, null, null)]);
        _catalog.CreateBank("low-quality", "review");
        _catalog.AddToBank("low-quality", [new BankContent(0, 0, null, hash.ToBytes(), 49, null, null)]);
        _catalog.CreateBank("good-quality", "review");
        _catalog.AddToBank("good-quality", [new BankContent(0, 0, null, hash.ToBytes(), 50, null, null)]);

        IReadOnlyList<CatalogFlag> Match(PdqHash h, int quality) => _rule.Match(null, [h.ToBytes()], quality, null);
        Assert.Equal([("good-quality", 3.0), ("unknown-quality", 3.0)], Match(near, 100).Select(f => (f.Label!, f.Distance!.Value)));
        Assert.Empty(Match(near, 49));                                              // the item's own quality is too low
        Assert.Empty(Match(far, 100));
    }

    [Fact]
    public async Task Audio_copies_match_a_banked_clip_by_chromaprint_and_other_audio_does_not()
    {
        var dir = _tmp["audio"];
        Directory.CreateDirectory(dir);
        var speech = AudioMaterial.Speech(dir, "speech.wav", "The quick brown fox jumps over the lazy dog while the media service indexes every upload it receives today.");
        var other = AudioMaterial.Speech(dir, "other.wav", "Seven silent ships sailed south under a pale green sky, carrying cargo to the northern harbour.", "en-us");
        var hum = AudioMaterial.Sox(dir, "hum.wav", "8", "sine", "90", "sine", "120");
        var copiesDir = _tmp["audio-copies"];
        Directory.CreateDirectory(copiesDir);
        var copies = AudioMaterial.Copies(speech, copiesDir);
        _catalog.CreateBank("sounds", "block");
        var banked = HashBankImport.HashFiles([speech]);
        Assert.NotNull(banked[0].Chromaprint);
        _catalog.AddToBank("sounds", banked);

        foreach (var (edit, path) in copies)
        {
            var flag = Assert.Single(BankFlags(await Process(path)));
            Assert.Equal(("sounds", "block", "chromaprint", 0.2), (flag.Label, flag.Action, flag.Method, flag.Threshold));
            Assert.True(flag.Distance <= 0.2, $"{edit}: bit error rate {flag.Distance}");
        }
        Assert.Empty(BankFlags(await Process(other)));
        Assert.Empty(BankFlags(await Process(hum)));
        Assert.Equal("sha256", Assert.Single(BankFlags(await Process(speech))).Method);
    }
}
