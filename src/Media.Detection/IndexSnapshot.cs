using System.IO.Hashing;
using Media.Domain;
using Media.Index;
using Microsoft.Extensions.Logging;

namespace Media.Detection;

/// <summary>
/// The on-disk image of an <see cref="IndexedCatalog"/> (normally <c>DATA/index.snapshot</c>), so that a start loads
/// the indexes instead of rebuilding them from the catalog.
/// <para>Layout (little-endian): magic <c>MSNP</c>, version, watermark (the highest catalog sequence included), the id at
/// the watermark, sections (the item table, PDQ, Chromaprint, population counts, then one per embedding space: pack
/// key, space, semantic, the index as its own <c>Save</c> writes it), each length-prefixed, and a trailer <c>MEND</c> with
/// the XXH3-64 of everything before it. Written to a temporary file and renamed over the old one (atomic on POSIX).</para>
/// <para>Never trusted blindly: the checksum, every length, the format of each index and the catalog itself (the item at
/// the watermark must be in the catalog under the same id and sequence; the catalog must reach the watermark) are
/// checked, and anything wrong means a rebuild from the catalog with a log line saying why.</para>
/// </summary>
static class IndexSnapshot
{
    static ReadOnlySpan<byte> Magic => "MSNP"u8;
    static ReadOnlySpan<byte> TrailerMagic => "MEND"u8;
    /// <summary>2: the catalog's embedding generation follows the watermark id (version 1 snapshots are rebuilt once).</summary>
    const int Version = 2;
    const int TrailerLength = 12;

    public static void Save(string file, IndexedCatalog index)
    {
        var tmp = file + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20))
        {
            using (var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                w.Write(Magic);
                w.Write(Version);
                w.Write(index.Watermark);
                w.Write(index.Watermark == 0 ? "" : index.Find(index.Watermark)?.Id ?? "");
                w.Write(index.EmbeddingGeneration);
                Section(w, s => index.Items.Save(new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true)));
                Section(w, index.Pdq.Save);
                Section(w, index.Chromaprint.Save);
                Section(w, s =>
                {
                    using var pw = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
                    pw.Write(index.PopulationCounts.Count);
                    foreach (var ((pack, collection), n) in index.PopulationCounts)
                    {
                        pw.Write(pack.ToString());
                        pw.Write(collection);
                        pw.Write(n);
                    }
                });
                var spaces = index.Spaces;
                w.Write(spaces.Count);
                foreach (var space in spaces)
                {
                    w.Write(space.Pack.ToString());
                    w.Write(space.Space);
                    w.Write(space.Semantic);
                    Section(w, space.Index.Save);
                }
            }
            stream.Flush();
            var hash = Hash(stream, stream.Length);
            stream.Write(TrailerMagic);
            stream.Write(BitConverter.GetBytes(hash));
            stream.Flush(flushToDisk: true);
        }
        File.Move(tmp, file, overwrite: true);
    }

    /// <summary>A length-prefixed section: the writer's bytes, with their count written before them.</summary>
    static void Section(BinaryWriter w, Action<Stream> write)
    {
        w.Flush();
        var stream = w.BaseStream;
        var lengthAt = stream.Position;
        w.Write(0L);
        w.Flush();
        write(stream);
        var end = stream.Position;
        stream.Position = lengthAt;
        w.Write(end - lengthAt - 8);
        w.Flush();
        stream.Position = end;
    }

    /// <summary>Loads the snapshot into <paramref name="index"/>; false (with the reason logged, and the index left empty) when it cannot be used.</summary>
    public static bool TryLoad(string file, IndexedCatalog index, ILogger log)
    {
        if (!File.Exists(file))
        {
            log.LogInformation("indexes: no snapshot at {File}; rebuilding from the catalog", file);
            return false;
        }
        try
        {
            Load(file, index);
            return true;
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException or FormatException or ArgumentException)
        {
            log.LogWarning("indexes: snapshot {File} not used ({Reason}); rebuilding from the catalog", file, ex.Message);
            index.Reset();
            return false;
        }
    }

    static void Load(string file, IndexedCatalog index)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        if (stream.Length < Magic.Length + TrailerLength) throw new InvalidDataException("too short");
        var bodyLength = stream.Length - TrailerLength;
        var hash = Hash(stream, bodyLength);
        Span<byte> trailer = stackalloc byte[TrailerLength];
        stream.Position = bodyLength;
        stream.ReadExactly(trailer);
        if (!trailer[..4].SequenceEqual(TrailerMagic) || BitConverter.ToUInt64(trailer[4..]) != hash) throw new InvalidDataException("checksum mismatch (truncated or damaged)");
        stream.Position = 0;

        using var r = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        if (!r.ReadBytes(4).AsSpan().SequenceEqual(Magic)) throw new InvalidDataException("not an index snapshot");
        if (r.ReadInt32() is var version && version != Version) throw new InvalidDataException($"snapshot version {version} is unknown");
        var watermark = r.ReadInt64();
        var watermarkId = r.ReadString();
        var generation = r.ReadInt64();
        // Embeddings added to old items (reprocessing) or dropped since: the vectors in the snapshot are not the catalog's.
        if (generation < 0 || generation != index.Catalog.EmbeddingGeneration)
            throw new InvalidDataException($"the catalog's embeddings changed since it was taken (generation {generation}, now {index.Catalog.EmbeddingGeneration}: reprocessed or dropped)");
        if (watermark > 0)
        {
            // The catalog must be the one the snapshot was taken of, and must still hold what it covered.
            var atWatermark = index.Catalog.Find(watermarkId);
            if (atWatermark is null || atWatermark.Seq != watermark)
                throw new InvalidDataException($"it was taken of another catalog (item {watermark} is not {watermarkId[..Math.Min(12, watermarkId.Length)]}… here)");
        }
        if (index.Catalog.LastSeq < watermark) throw new InvalidDataException($"it covers sequence {watermark} but the catalog ends at {index.Catalog.LastSeq}");

        ReadSection(r, s => index.Items.Load(new BinaryReader(s, System.Text.Encoding.UTF8, leaveOpen: true)));
        IBinaryIndex? pdq = null;
        AudioFingerprintIndex? chromaprint = null;
        var population = new List<KeyValuePair<(PackKey, int), long>>();
        ReadSection(r, s => pdq = IndexFormats.LoadBinary(s));
        ReadSection(r, s => chromaprint = AudioFingerprintIndex.Load(s));
        ReadSection(r, s =>
        {
            using var pr = new BinaryReader(s, System.Text.Encoding.UTF8, leaveOpen: true);
            var n = pr.ReadInt32();
            for (var i = 0; i < n; i++) population.Add(new((PackKey.Parse(pr.ReadString()), pr.ReadInt32()), pr.ReadInt64()));
        });
        var count = r.ReadInt32();
        if (count is < 0 or > 10_000) throw new InvalidDataException($"snapshot claims {count} embedding spaces");
        var spaces = new List<IndexedSpace>();
        for (var i = 0; i < count; i++)
        {
            var pack = PackKey.Parse(r.ReadString());
            var space = r.ReadString();
            var semantic = r.ReadBoolean();
            IVectorIndex? vectors = null;
            ReadSection(r, s => vectors = IndexFormats.LoadVector(s));
            spaces.Add(new IndexedSpace(pack, space, semantic, vectors!));
        }
        if (stream.Position != bodyLength) throw new InvalidDataException("trailing bytes before the trailer");
        index.Restore(watermark, generation, pdq!, chromaprint!, spaces, population);
    }

    static void ReadSection(BinaryReader r, Action<Stream> read)
    {
        var length = r.ReadInt64();
        var start = r.BaseStream.Position;
        if (length < 0 || start + length > r.BaseStream.Length) throw new InvalidDataException($"a section claims {length} bytes");
        read(r.BaseStream);
        if (r.BaseStream.Position != start + length) throw new InvalidDataException("a section's length does not match its content");
    }

    /// <summary>XXH3-64 of the first <paramref name="length"/> bytes.</summary>
    static ulong Hash(Stream stream, long length)
    {
        var hash = new XxHash3();
        var buffer = new byte[1 << 20];
        stream.Position = 0;
        for (var left = length; left > 0;)
        {
            var n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) throw new EndOfStreamException();
            hash.Append(buffer.AsSpan(0, n));
            left -= n;
        }
        return hash.GetCurrentHashAsUInt64();
    }
}
