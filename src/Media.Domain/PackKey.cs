namespace Media.Domain;

/// <summary>
/// A model pack's identity in the catalog and the indexes: <c>name@version</c>. Two versions of one pack are two
/// embedding spaces as far as storage is concerned; detection and search pick the version they use.
/// </summary>
/// <param name="Name">Pack name, e.g. <c>clip-vit-b32</c>: letters, digits, <c>.</c>, <c>_</c>, <c>-</c>.</param>
/// <param name="Version">Pack version, e.g. <c>xenova-d15189d</c>; the same characters.</param>
public readonly record struct PackKey(string Name, string Version)
{
    /// <summary>Parses <c>name@version</c>.</summary>
    /// <exception cref="FormatException">No <c>@</c>, an empty part, or a character outside the allowed set.</exception>
    public static PackKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var at = text.LastIndexOf('@');
        if (at <= 0 || at == text.Length - 1) throw new FormatException($"'{text}' is not a pack key of the form name@version");
        var key = new PackKey(text[..at], text[(at + 1)..]);
        key.Validate();
        return key;
    }

    /// <exception cref="FormatException">An empty part, or a character outside letters, digits, <c>.</c>, <c>_</c>, <c>-</c>.</exception>
    public PackKey Validate()
    {
        Check(Name, "name");
        Check(Version, "version");
        return this;
    }

    static void Check(string part, string what)
    {
        if (string.IsNullOrEmpty(part)) throw new FormatException($"pack {what} is empty");
        foreach (var c in part)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '+'))
                throw new FormatException($"pack {what} '{part}' has the character '{c}' (allowed: letters, digits, . _ - +)");
    }

    public override string ToString() => $"{Name}@{Version}";
}
