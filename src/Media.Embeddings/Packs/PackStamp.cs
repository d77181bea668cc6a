using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Media.Embeddings.Packs;

/// <summary>
/// Remembers the SHA-256 of a pack's files so that a load need not hash hundreds of megabytes each time: one JSON file
/// per pack folder, <c>$XDG_CACHE_HOME/media/pack-stamps/&lt;SHA-256 of the folder path&gt;.json</c> (<c>~/.cache</c> when
/// unset), holding the folder and, per file (absolute path), its size, last-write time (UTC ticks) and SHA-256. Stamps of
/// folders that no longer exist are dropped when a stamp is written. An entry vouches for a
/// file only while its size and last-write time are unchanged; any change sends the file back to a full hash.
/// <para>The stamp is a cache, never an authority: it is written atomically (temporary file, then rename), an unreadable
/// or foreign one is ignored, and a folder where it cannot be written (read-only home) just hashes every time.
/// <c>media packs --verify</c> hashes everything regardless.</para>
/// </summary>
public sealed class PackStamp
{
    sealed record Entry(long Size, long WriteTicks, string Sha256);
    sealed record Document(string Folder, Dictionary<string, Entry> Files);

    readonly string? _file;
    readonly string _folder;
    readonly Dictionary<string, Entry> _entries;
    bool _dirty;

    PackStamp(string? file, string folder, Dictionary<string, Entry> entries)
    {
        _file = file;
        _folder = folder;
        _entries = entries;
    }

    /// <summary>The folder stamps live in.</summary>
    public static string Folder
    {
        get
        {
            var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (string.IsNullOrEmpty(cache)) cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(cache, "media", "pack-stamps");
        }
    }

    /// <summary>The stamp of a pack folder (empty when there is none or it cannot be read).</summary>
    public static PackStamp Open(string packDirectory)
    {
        var folder = Path.GetFullPath(packDirectory);
        var file = Path.Combine(Folder, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(folder))) + ".json");
        try
        {
            if (File.Exists(file) && JsonSerializer.Deserialize<Document>(File.ReadAllBytes(file)) is { } doc && doc.Folder == folder && doc.Files is not null)
                return new PackStamp(file, folder, doc.Files);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            // A stamp that cannot be read is no stamp: the files are hashed again.
        }
        return new PackStamp(file, folder, []);
    }

    /// <summary>The remembered SHA-256 of <paramref name="path"/> when its size and last-write time still match; otherwise null.</summary>
    public string? Lookup(string path)
    {
        var info = new FileInfo(path);
        return info.Exists && _entries.TryGetValue(info.FullName, out var e) && e.Size == info.Length && e.WriteTicks == info.LastWriteTimeUtc.Ticks
            ? e.Sha256
            : null;
    }

    /// <summary>Remembers a freshly computed <paramref name="sha256"/> for <paramref name="path"/> as it is now; returns it.</summary>
    public string Record(string path, string sha256)
    {
        var info = new FileInfo(path);
        _entries[info.FullName] = new Entry(info.Length, info.LastWriteTimeUtc.Ticks, sha256);
        _dirty = true;
        return sha256;
    }

    /// <summary>Writes the stamp if anything was recorded, and drops the stamps of pack folders that no longer exist. A
    /// failure to write is ignored (the next load hashes again).</summary>
    public void Save()
    {
        if (!_dirty || _file is null) return;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
            var temp = _file + "." + Environment.ProcessId + ".tmp";
            File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(new Document(_folder, _entries)));
            File.Move(temp, _file, overwrite: true);
            _dirty = false;
            PruneStale();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    static void PruneStale()
    {
        foreach (var stamp in Directory.EnumerateFiles(Folder, "*.json"))
        {
            try
            {
                if (JsonSerializer.Deserialize<Document>(File.ReadAllBytes(stamp)) is { Folder: { } folder } && !Directory.Exists(folder)) File.Delete(stamp);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
            {
            }
        }
    }
}
