using System.Security.Cryptography;
using System.Text;

namespace Media.Application;

/// <summary>
/// Keeps the bytes the HTTP API received (uploads and fetched URIs), content-addressed under <c>DATA/uploads/&lt;sha256&gt;/&lt;name&gt;</c>,
/// so the encode role can read them by path and thumbnails can be made later. The name is the client's file name
/// reduced to safe characters (never a path): it only makes the catalogued path readable. Thread-safe: writes go to a
/// temporary file renamed into place, and the same bytes are stored once.
/// </summary>
public sealed class UploadStore(string dataDirectory)
{
    /// <summary>The folder holding the uploads.</summary>
    public string Root { get; } = Path.Combine(dataDirectory, "uploads");

    /// <summary>Stores <paramref name="bytes"/> (unless the same bytes are stored already) and returns the SHA-256 (hex) and the full path of the file.</summary>
    /// <param name="bytes">The content.</param>
    /// <param name="name">The client's file name or the URI's last segment (any characters); null or empty gives <c>upload</c>.</param>
    /// <exception cref="IOException">The data folder cannot be written.</exception>
    public (string Sha256, string Path) Save(byte[] bytes, string? name)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var folder = Path.Combine(Root, sha);
        if (Directory.Exists(folder) && Directory.EnumerateFiles(folder).FirstOrDefault(f => !f.EndsWith(".tmp", StringComparison.Ordinal)) is { } existing)
            return (sha, Path.GetFullPath(existing));
        Directory.CreateDirectory(folder);
        var path = Path.GetFullPath(Path.Combine(folder, SafeName(name)));
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
        return (sha, path);
    }

    /// <summary>The stored file of these bytes (SHA-256 hex), or null.</summary>
    public string? Find(string sha256)
    {
        if (sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigitLower)) return null;
        var folder = Path.Combine(Root, sha256);
        return Directory.Exists(folder) ? Directory.EnumerateFiles(folder).FirstOrDefault(f => !f.EndsWith(".tmp", StringComparison.Ordinal)) : null;
    }

    /// <summary>A file name of letters, digits, <c>.</c>, <c>-</c> and <c>_</c> only (at most 80 characters, no leading dot); <c>upload</c> when nothing is left.</summary>
    public static string SafeName(string? name)
    {
        var leaf = (name ?? "").Replace('\\', '/');
        leaf = leaf[(leaf.LastIndexOf('/') + 1)..];
        var sb = new StringBuilder();
        foreach (var c in leaf)
            if (sb.Length < 80) sb.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        var safe = sb.ToString().TrimStart('.');
        return safe.Length == 0 || safe.EndsWith(".tmp", StringComparison.OrdinalIgnoreCase) ? "upload" : safe;
    }
}
