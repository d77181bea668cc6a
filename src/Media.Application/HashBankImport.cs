using System.Globalization;
using Media.Catalog;
using Media.Codecs;
using Media.Codecs.Audio;
using Media.Hashing;

namespace Media.Application;

/// <summary>One problem found while reading what is to be imported into a bank.</summary>
/// <param name="Source">The file (a media file, or the PDQ list).</param>
/// <param name="Line">The 1-based line of a PDQ list, or 0 for a media file.</param>
/// <param name="Error">What is wrong.</param>
public sealed record BankImportError(string Source, int Line, string Error)
{
    public override string ToString() => Line > 0 ? $"{Source}:{Line}: {Error}" : $"{Source}: {Error}";
}

/// <summary>What is to be imported into a bank could not all be read; nothing was imported.</summary>
public sealed class BankImportException(IReadOnlyList<BankImportError> errors)
    : Exception($"{errors.Count} problem(s), nothing imported; first: {errors[0]}")
{
    /// <summary>Every problem found, in input order.</summary>
    public IReadOnlyList<BankImportError> Errors { get; } = errors;
}

/// <summary>
/// Turns media files and PDQ lists into <see cref="BankContent"/>s for <see cref="IHashBankStore.AddToBank"/>. Either
/// everything given is read, or <see cref="BankImportException"/> lists every problem and nothing is returned: a bank
/// is never half-imported.
/// </summary>
public static class HashBankImport
{
    /// <summary>
    /// Hashes media files as <c>media hash</c> does: the SHA-256 of the bytes, and for an image the PDQ hash (with its
    /// quality) of the pixels as stored, decoded at full resolution so that it is the reference hasher's hash
    /// (<see cref="PdqImage"/>); for audio the raw Chromaprint fingerprint (none for clips under about 3 s, which then
    /// match by SHA-256 only). The note is the file's full path. Files are hashed in parallel; the result keeps their order.
    /// </summary>
    /// <exception cref="BankImportException">Some files are missing, unreadable, over the decode limits or not decodable media.</exception>
    public static IReadOnlyList<BankContent> HashFiles(IReadOnlyList<string> paths, DecodeLimits? limits = null)
    {
        var decoder = new ImageDecoder(limits);
        var results = paths.AsParallel().AsOrdered().WithDegreeOfParallelism(Environment.ProcessorCount)
            .Select(path => HashFile(decoder, path)).ToArray();
        var errors = results.Where(r => r.Error is not null).Select(r => r.Error!).ToArray();
        if (errors.Length > 0) throw new BankImportException(errors);
        return [.. results.Select(r => r.Content!)];
    }

    static (BankContent? Content, BankImportError? Error) HashFile(ImageDecoder decoder, string path)
    {
        try
        {
            var bytes = new SourceReader(decoder.Limits).ReadFile(path);
            var full = Path.GetFullPath(path);
            var sha = System.Security.Cryptography.SHA256.HashData(bytes);
            if (FormatSniffer.Sniff(bytes.AsSpan(0, Math.Min(32, bytes.Length))).IsAudio())
            {
                var fingerprint = AudioFingerprint.Compute(new AudioDecoder().Decode(bytes));
                return (new BankContent(0, 0, sha, null, null, fingerprint.Length > 0 ? fingerprint : null, full), null);
            }
            var pdq = PdqHasher.Hash(decoder.Decode(bytes, PdqImage.DecodeOptions).Stored);
            return (new BankContent(0, 0, sha, pdq.Hash.ToBytes(), pdq.Quality, null, full), null);
        }
        catch (MediaRejectedException ex)
        {
            return (null, new BankImportError(path, 0, ex.Message));
        }
    }

    /// <summary>Longest note kept from a PDQ list line, characters.</summary>
    public const int MaxNoteLength = 1000;

    /// <summary>
    /// Reads a PDQ list: one content per line, <c>PDQ[,QUALITY[,NOTE]]</c> — the PDQ hash as 64 hex digits (either
    /// case), an optional quality 0–100 (empty or absent: unknown, then trusted), and an optional note, which is the
    /// rest of the line (commas included; one pair of surrounding double quotes is removed and <c>""</c> inside them
    /// read as <c>"</c>). This is what ThreatExchange's reference <c>pdq-photo-hasher</c> prints (<c>hash,quality,filename</c>).
    /// Blank lines and lines starting with <c>#</c> are skipped, and so is a first line whose first field is
    /// <c>pdq</c> or <c>hash</c> (a header). Every line is checked before anything is returned.
    /// </summary>
    /// <exception cref="BankImportException">The file cannot be read, or lines are not of this form (each named by its number).</exception>
    public static IReadOnlyList<BankContent> ReadPdqList(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new BankImportException([new BankImportError(path, 0, ex.Message)]);
        }
        var contents = new List<BankContent>();
        var errors = new List<BankImportError>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var fields = line.Split(',', 3);
            var hex = fields[0].Trim();
            if (i == 0 && hex.ToLowerInvariant() is "pdq" or "hash") continue;
            var (content, error) = ParseLine(hex, fields.Length > 1 ? fields[1].Trim() : "", fields.Length > 2 ? fields[2].Trim() : null);
            if (error is not null) errors.Add(new BankImportError(path, i + 1, error));
            else contents.Add(content!);
        }
        if (errors.Count > 0) throw new BankImportException(errors);
        return contents;
    }

    static (BankContent? Content, string? Error) ParseLine(string hex, string quality, string? note)
    {
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
            return (null, $"'{Shorten(hex)}' is not a PDQ hash (64 hex digits)");
        int? q = null;
        if (quality.Length > 0)
        {
            if (!int.TryParse(quality, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed > 100)
                return (null, $"quality '{Shorten(quality)}' is not a whole number from 0 to 100");
            q = parsed;
        }
        if (note is { Length: >= 2 } && note[0] == '"' && note[^1] == '"') note = note[1..^1].Replace("\"\"", "\"");
        if (note is { Length: > MaxNoteLength }) return (null, $"the note is {note.Length} characters; at most {MaxNoteLength}");
        return (new BankContent(0, 0, null, Convert.FromHexString(hex), q, null, string.IsNullOrEmpty(note) ? null : note), null);
    }

    static string Shorten(string s) => s.Length <= 80 ? s : s[..80] + "…";
}
