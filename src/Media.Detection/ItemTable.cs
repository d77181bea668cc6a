using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Media.Detection;

/// <summary>A SHA-256 as a value: 32 bytes in four words, a dictionary key without a string.</summary>
readonly record struct Sha256Key(ulong A, ulong B, ulong C, ulong D)
{
    /// <exception cref="FormatException">Not 64 hex digits.</exception>
    public static Sha256Key Parse(string hex)
    {
        if (hex.Length != 64) throw new FormatException($"a media id is a SHA-256 (64 hex digits), got '{hex}'");
        Span<byte> b = stackalloc byte[32];
        Convert.FromHexString(hex, b, out _, out var written);
        if (written != 32) throw new FormatException($"a media id is a SHA-256 (64 hex digits), got '{hex}'");
        return new(BinaryPrimitives.ReadUInt64BigEndian(b), BinaryPrimitives.ReadUInt64BigEndian(b[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(b[16..]), BinaryPrimitives.ReadUInt64BigEndian(b[24..]));
    }

    public override string ToString() => $"{A:x16}{B:x16}{C:x16}{D:x16}";
}

/// <summary>
/// The per-item facts detection and search consult, in dense arrays indexed by catalog sequence: the SHA-256 (32
/// bytes), modality and collection as numbers into interned string tables, and the PDQ quality — 41 bytes an item plus
/// the id dictionary's entry. Not thread-safe: <see cref="IndexedCatalog"/> locks.
/// </summary>
sealed class ItemTable
{
    Sha256Key[] _ids = new Sha256Key[1024];
    byte[] _modality = new byte[1024];      // 0 = no item at this sequence
    int[] _collection = new int[1024];      // 0 = none
    byte[] _quality = new byte[1024];
    readonly Dictionary<Sha256Key, long> _seqOf = [];
    readonly List<string> _modalities = [];
    readonly List<string> _collections = [];
    readonly Dictionary<string, int> _modalityIds = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> _collectionIds = new(StringComparer.Ordinal);

    public long Count => _seqOf.Count;
    /// <summary>One past the highest sequence held.</summary>
    public long End { get; private set; } = 1;

    public void Add(long seq, string id, string modality, string? collection, int quality)
    {
        if (seq < 1) throw new ArgumentOutOfRangeException(nameof(seq), seq, "sequences start at 1");
        Grow(seq + 1);
        var key = Sha256Key.Parse(id);
        _ids[seq] = key;
        var m = Intern(_modalities, _modalityIds, modality);
        if (m > byte.MaxValue) throw new ArgumentException($"more than {byte.MaxValue} modalities", nameof(modality));
        _modality[seq] = (byte)m;
        _collection[seq] = collection is null ? 0 : Intern(_collections, _collectionIds, collection);
        _quality[seq] = (byte)Math.Clamp(quality, 0, 255);
        _seqOf[key] = seq;
        if (seq >= End) End = seq + 1;
    }

    static int Intern(List<string> list, Dictionary<string, int> ids, string value)
    {
        if (ids.TryGetValue(value, out var id)) return id;
        list.Add(value);
        return ids[value] = list.Count;
    }

    void Grow(long needed)
    {
        if (needed <= _ids.Length) return;
        var size = (int)Math.Max(needed, _ids.Length * 2L);
        Array.Resize(ref _ids, size);
        Array.Resize(ref _modality, size);
        Array.Resize(ref _collection, size);
        Array.Resize(ref _quality, size);
    }

    bool Has(long seq) => seq > 0 && seq < End && _modality[seq] != 0;

    public long? Seq(string id)
    {
        if (id.Length != 64) return null;
        try { return _seqOf.TryGetValue(Sha256Key.Parse(id), out var s) ? s : null; }
        catch (FormatException) { return null; }
    }

    public IndexedItem? Get(long seq) => Has(seq)
        ? new IndexedItem(seq, _ids[seq].ToString(), _modalities[_modality[seq] - 1], _collection[seq] == 0 ? null : _collections[_collection[seq] - 1], _quality[seq])
        : null;

    public int Quality(long seq) => Has(seq) ? _quality[seq] : 0;
    public bool HasModality(long seq, string modality) => Has(seq) && _modalities[_modality[seq] - 1] == modality;
    public bool InCollection(long seq, string collection) => Has(seq) && _collection[seq] != 0 && _collections[_collection[seq] - 1] == collection;
    public int CollectionId(long seq) => Has(seq) ? _collection[seq] : 0;
    /// <summary>The number of a collection, or −1 when no item carries it.</summary>
    public int ExistingCollectionId(string collection) => _collectionIds.TryGetValue(collection, out var id) ? id : -1;

    public void Clear()
    {
        _seqOf.Clear();
        _modalities.Clear();
        _collections.Clear();
        _modalityIds.Clear();
        _collectionIds.Clear();
        Array.Clear(_modality);
        End = 1;
    }

    /// <summary>Writes the tables: interned strings, then the arrays over [1, End).</summary>
    public void Save(BinaryWriter w)
    {
        WriteStrings(w, _modalities);
        WriteStrings(w, _collections);
        w.Write(End);
        var n = (int)End;
        w.Write(MemoryMarshal.AsBytes(_ids.AsSpan(0, n)));
        w.Write(_modality.AsSpan(0, n));
        w.Write(MemoryMarshal.AsBytes(_collection.AsSpan(0, n)));
        w.Write(_quality.AsSpan(0, n));
    }

    /// <exception cref="InvalidDataException">Inconsistent tables.</exception>
    /// <exception cref="EndOfStreamException">Truncated.</exception>
    public void Load(BinaryReader r)
    {
        Clear();
        foreach (var m in ReadStrings(r)) Intern(_modalities, _modalityIds, m);
        foreach (var c in ReadStrings(r)) Intern(_collections, _collectionIds, c);
        var end = r.ReadInt64();
        if (end < 1 || end > int.MaxValue / 32) throw new InvalidDataException($"item table claims {end} sequences");
        var n = (int)end;
        Grow(n);
        r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(_ids.AsSpan(0, n)));
        r.BaseStream.ReadExactly(_modality.AsSpan(0, n));
        r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(_collection.AsSpan(0, n)));
        r.BaseStream.ReadExactly(_quality.AsSpan(0, n));
        End = end;
        for (var seq = 1; seq < n; seq++)
        {
            if (_modality[seq] == 0) continue;
            if (_modality[seq] > _modalities.Count || _collection[seq] < 0 || _collection[seq] > _collections.Count)
                throw new InvalidDataException($"item {seq} names an unknown modality or collection");
            _seqOf[_ids[seq]] = seq;
        }
    }

    static void WriteStrings(BinaryWriter w, List<string> values)
    {
        w.Write(values.Count);
        foreach (var v in values) w.Write(v);
    }

    static List<string> ReadStrings(BinaryReader r)
    {
        var count = r.ReadInt32();
        if (count is < 0 or > 1 << 24) throw new InvalidDataException($"string table claims {count} entries");
        var list = new List<string>(count);
        for (var i = 0; i < count; i++) list.Add(r.ReadString());
        return list;
    }
}
