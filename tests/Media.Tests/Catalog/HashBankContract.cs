using Media.Catalog;

namespace Media.Tests.Catalog;

/// <summary>
/// The <see cref="IHashBankStore"/> contract, run against every implementation: derive, say how to open the store at a
/// location, and xunit runs every test here for it. Opening twice gives two independent handles on one store, as two
/// processes would have.
/// </summary>
public abstract class HashBankContract : IDisposable
{
    protected readonly TempDir Dir = new();
    readonly List<IHashBankStore> _open = [];

    /// <summary>Opens (creating when new) the store at the implementation's location for this test.</summary>
    protected abstract IHashBankStore OpenStore();

    protected IHashBankStore Open()
    {
        var s = OpenStore();
        _open.Add(s);
        return s;
    }

    public virtual void Dispose()
    {
        foreach (var s in _open) s.Dispose();
        Dir.Dispose();
    }

    static byte[] Bytes(int seed, int n = 32)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    static string? Hex(byte[]? b) => b is null ? null : Convert.ToHexStringLower(b);

    protected static BankContent Image(int i, int? quality = 90) => new(0, 0, Bytes(i), Bytes(1000 + i), quality, null, $"/known/{i}.jpg");
    protected static BankContent Audio(int i) => new(0, 0, Bytes(i), null, null, [(uint)i, 0xFFFFFFFFu, 7u], $"/known/{i}.mp3");
    protected static BankContent PdqOnly(int i, int? quality = null, string? note = null) => new(0, 0, null, Bytes(1000 + i), quality, null, note);

    [Fact]
    public void A_new_bank_is_enabled_empty_and_listed_by_name()
    {
        var store = Open();
        var b = store.CreateBank("zeta", "block");
        var a = store.CreateBank("Alpha_1.x", HashBank.DefaultAction);
        Assert.Equal(("zeta", "block", true, 0L, 0L, 0L, 0L), (b.Name, b.Action, b.Enabled, b.Contents, b.Sha256, b.Pdq, b.Chromaprint));
        Assert.NotEqual(a.Id, b.Id);
        Assert.NotEqual(default, a.CreatedAt);
        Assert.Equal(["Alpha_1.x", "zeta"], store.Banks().Select(x => x.Name));
        Assert.Equal(b, store.FindBank("zeta"));
        Assert.Null(store.FindBank("nope"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("-starts-with-dash")]
    [InlineData("slash/inside")]
    [InlineData("ü")]
    public void Bad_bank_names_are_refused_and_nothing_is_created(string name)
    {
        var store = Open();
        var ex = Assert.Throws<HashBankException>(() => store.CreateBank(name, "review"));
        Assert.Contains("bank name", ex.Message);
        Assert.Empty(store.Banks());
    }

    [Fact]
    public void A_name_is_unique_and_bad_actions_are_refused()
    {
        var store = Open();
        store.CreateBank("known", "review");
        Assert.Contains("exists", Assert.Throws<HashBankException>(() => store.CreateBank("known", "block")).Message);
        Assert.Equal("review", store.FindBank("known")!.Action);
        Assert.Contains("action", Assert.Throws<HashBankException>(() => store.CreateBank("other", "two words")).Message);
        Assert.Contains("action", Assert.Throws<HashBankException>(() => store.CreateBank("other", "")).Message);
        Assert.Contains("action", Assert.Throws<HashBankException>(() => store.CreateBank("other", "-block")).Message);
        Assert.Equal("escalate:legal", store.CreateBank("cased", "Escalate:Legal").Action);
        Assert.Equal(["cased", "known"], store.Banks().Select(b => b.Name));
    }

    [Fact]
    public void Contents_are_added_counted_and_read_back_with_every_field_in_id_order()
    {
        var store = Open();
        store.CreateBank("known", "block");
        Assert.Equal(new BankAddResult(4, 0), store.AddToBank("known", [Image(1), Audio(2), PdqOnly(3, 70, "line 1: ref"), PdqOnly(4)]));
        var bank = store.FindBank("known")!;
        Assert.Equal((4L, 2L, 3L, 1L), (bank.Contents, bank.Sha256, bank.Pdq, bank.Chromaprint));

        var snap = store.ReadBanks();
        Assert.Equal(bank, Assert.Single(snap.Banks));
        Assert.Equal(4, snap.Contents.Count);
        Assert.True(snap.Contents.Zip(snap.Contents.Skip(1)).All(p => p.First.Id < p.Second.Id));
        Assert.All(snap.Contents, c => Assert.Equal(bank.Id, c.BankId));
        Assert.All(snap.Contents, c => Assert.NotEqual(default, c.CreatedAt));
        var (image, audio, pdq, bare) = (snap.Contents[0], snap.Contents[1], snap.Contents[2], snap.Contents[3]);
        Assert.Equal((Hex(Image(1).Sha256), Hex(Image(1).Pdq), 90, "/known/1.jpg"), (Hex(image.Sha256), Hex(image.Pdq), image.PdqQuality, image.Note));
        Assert.Null(image.Chromaprint);
        Assert.Equal([2u, 0xFFFFFFFFu, 7u], audio.Chromaprint!);
        Assert.Null(audio.Pdq);
        Assert.Equal((null, Hex(PdqOnly(3).Pdq), 70, "line 1: ref"), (Hex(pdq.Sha256), Hex(pdq.Pdq), pdq.PdqQuality, pdq.Note));
        Assert.Equal(((int?)null, (string?)null), (bare.PdqQuality, bare.Note));

        Assert.Equal([bare.Id], store.ReadBanks(pdq.Id).Contents.Select(c => c.Id));
        Assert.Empty(store.ReadBanks(bare.Id).Contents);
    }

    [Fact]
    public void Content_already_in_the_bank_is_not_written_twice_but_another_bank_gets_its_own_copy()
    {
        var store = Open();
        store.CreateBank("a", "review");
        store.CreateBank("b", "block");
        store.AddToBank("a", [Image(1), PdqOnly(2)]);
        // The same file again (by SHA-256), the same PDQ line again, a repeat inside one call, and one new content.
        Assert.Equal(new BankAddResult(1, 3), store.AddToBank("a", [Image(1) with { Note = "renamed.jpg" }, PdqOnly(2, 50), Image(5), Image(5)]));
        Assert.Equal(3, store.FindBank("a")!.Contents);
        // A PDQ-only content is a different content from a file that has the same PDQ.
        Assert.Equal(new BankAddResult(1, 0), store.AddToBank("a", [PdqOnly(1)]));
        Assert.Equal(new BankAddResult(2, 0), store.AddToBank("b", [Image(1), PdqOnly(2)]));
        Assert.Equal((4L, 2L), (store.FindBank("a")!.Contents, store.FindBank("b")!.Contents));
        Assert.Equal(6, store.ReadBanks().Contents.Count);
    }

    [Fact]
    public void A_bad_content_or_an_unknown_bank_writes_nothing()
    {
        var store = Open();
        store.CreateBank("known", "review");
        var generation = store.BankGeneration;
        Assert.Throws<ArgumentException>(() => store.AddToBank("known", [Image(1), new BankContent(0, 0, null, null, null, null, "nothing")]));
        Assert.Throws<ArgumentException>(() => store.AddToBank("known", [Image(1), PdqOnly(2) with { Pdq = new byte[31] }]));
        Assert.Throws<ArgumentException>(() => store.AddToBank("known", [Image(1), Image(2) with { Sha256 = new byte[33] }]));
        Assert.Throws<ArgumentException>(() => store.AddToBank("known", [Image(1), PdqOnly(2, 101)]));
        Assert.Contains("no bank named 'missing'", Assert.Throws<HashBankException>(() => store.AddToBank("missing", [Image(1)])).Message);
        Assert.Empty(store.ReadBanks().Contents);
        Assert.Equal(0, store.FindBank("known")!.Contents);
        Assert.Equal(generation, store.BankGeneration);
    }

    [Fact]
    public void Every_change_raises_the_generation_and_reads_and_no_op_adds_do_not()
    {
        var store = Open();
        var seen = new List<long> { store.BankGeneration };
        void Changed() { Assert.True(store.BankGeneration > seen[^1], "generation did not rise"); seen.Add(store.BankGeneration); }
        void Unchanged() => Assert.Equal(seen[^1], store.BankGeneration);

        store.CreateBank("known", "review"); Changed();
        store.AddToBank("known", [Image(1)]); Changed();
        store.AddToBank("known", [Image(1)]); Unchanged();
        store.AddToBank("known", []); Unchanged();
        store.Banks(); store.FindBank("known"); store.ReadBanks(); Unchanged();
        store.SetBankEnabled("known", false); Changed();
        store.SetBankEnabled("known", true); Changed();
        store.RemoveBank("known"); Changed();
        Assert.Equal(seen[^1], store.ReadBanks().Generation);
    }

    [Fact]
    public void Disabling_keeps_the_contents_and_unknown_banks_are_refused()
    {
        var store = Open();
        store.CreateBank("known", "block");
        store.AddToBank("known", [Image(1), Image(2)]);
        var off = store.SetBankEnabled("known", false);
        Assert.False(off.Enabled);
        Assert.Equal(2, off.Contents);
        Assert.False(store.FindBank("known")!.Enabled);
        Assert.Equal(2, store.ReadBanks().Contents.Count);
        Assert.True(store.SetBankEnabled("known", true).Enabled);
        Assert.Throws<HashBankException>(() => store.SetBankEnabled("missing", false));
        Assert.Throws<HashBankException>(() => store.RemoveBank("missing"));
    }

    [Fact]
    public void Removing_a_bank_removes_its_contents_and_frees_its_name()
    {
        var store = Open();
        var old = store.CreateBank("known", "block");
        store.CreateBank("kept", "review");
        store.AddToBank("known", [Image(1), Image(2)]);
        store.AddToBank("kept", [Image(3)]);
        var last = store.ReadBanks().Contents.Max(c => c.Id);
        store.RemoveBank("known");
        Assert.Null(store.FindBank("known"));
        var snap = store.ReadBanks();
        Assert.Equal(["kept"], snap.Banks.Select(b => b.Name));
        Assert.Equal([Hex(Image(3).Sha256)], snap.Contents.Select(c => Hex(c.Sha256)));

        var again = store.CreateBank("known", "review");
        Assert.NotEqual(old.Id, again.Id);
        Assert.Equal(0, again.Contents);
        store.AddToBank("known", [Image(1)]);
        Assert.True(store.ReadBanks().Contents.Single(c => c.BankId == again.Id).Id > last, "content ids are never reused");
    }

    [Fact]
    public void Another_handle_sees_every_change_at_once_and_after_a_reopen()
    {
        var writer = Open();
        var reader = Open();
        var g0 = reader.BankGeneration;
        writer.CreateBank("known", "block");
        writer.AddToBank("known", [Image(1), PdqOnly(2)]);
        Assert.True(reader.BankGeneration > g0);
        Assert.Equal(2, reader.FindBank("known")!.Contents);
        writer.SetBankEnabled("known", false);
        Assert.False(reader.ReadBanks().Banks.Single().Enabled);
        writer.Dispose();
        var reopened = Open();
        Assert.Equal(2, reopened.ReadBanks().Contents.Count);
        Assert.Equal(reader.BankGeneration, reopened.BankGeneration);
    }

    [Fact]
    public void Concurrent_writers_create_a_name_once_and_add_a_content_once()
    {
        var stores = new[] { Open(), Open() };
        var created = 0;
        Parallel.For(0, 8, i =>
        {
            try { stores[i % 2].CreateBank("race", "review"); Interlocked.Increment(ref created); }
            catch (HashBankException) { }
        });
        Assert.Equal(1, created);
        var added = 0;
        Parallel.For(0, 16, i => Interlocked.Add(ref added, stores[i % 2].AddToBank("race", [Image(i % 4), PdqOnly(i % 4)]).Added));
        Assert.Equal(8, added);
        Assert.Equal(8, stores[0].FindBank("race")!.Contents);
        var ids = stores[1].ReadBanks().Contents.Select(c => c.Id).ToArray();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(8, ids.Distinct().Count());
    }
}
