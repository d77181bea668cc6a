using System.Text.RegularExpressions;
using Media.Catalog;
using Media.Domain;

namespace Media.Detection;

/// <summary>
/// How a submission's flags become one action label (configuration section <c>Media:Actions</c>; README "Actions and
/// webhooks").
/// <list type="bullet">
/// <item>Each flag contributes its own <see cref="CatalogFlag.Action"/> (concept, classification and bank flags carry
/// one); a flag without one contributes the default of its kind, <see cref="Defaults"/> (<c>near_duplicate</c>,
/// <c>exact_duplicate</c>, <c>anomaly</c>, …; none unless configured).</item>
/// <item>The submission's action is the strongest contributed label by <see cref="Precedence"/>; <c>null</c> when no flag
/// contributes one (no flags, only flags whose action is <c>none</c>, or a rejected item).</item>
/// </list>
/// Labels are compared case-insensitively and returned lower-case. <c>none</c> (or an empty label) means "no action".
/// Pure and thread-safe; the resolved action is derived from the stored flags whenever a result leaves the detector,
/// so the catalog needs no column for it.
/// </summary>
public sealed record ActionPolicy
{
    /// <summary>The label that means "no action": a flag or default with it contributes nothing.</summary>
    public const string None = "none";
    /// <summary>The permissive label: an item whose action is <c>allow</c> (or <c>null</c>) is not actioned (no webhook by default).</summary>
    public const string Allow = "allow";
    /// <summary>In <see cref="Precedence"/>, where the labels not listed rank.</summary>
    public const string Unlisted = "*";

    /// <summary>The precedence used when none is configured: <c>block</c> &gt; any unlisted label &gt; <c>review</c> &gt; <c>allow</c>.</summary>
    public static IReadOnlyList<string> DefaultPrecedence { get; } = ["block", Unlisted, "review", Allow];

    /// <summary>
    /// Action labels, strongest first (<c>Media:Actions:Precedence</c>; default <see cref="DefaultPrecedence"/>).
    /// <c>*</c> marks where labels that are not listed rank (among themselves in ordinal order of their names); a list
    /// without <c>*</c> ranks them right after its first entry, so an unforeseen label is never outranked by a
    /// permissive one, nor outranks the strongest.
    /// </summary>
    public string[]? Precedence { get; init; }

    /// <summary>
    /// Action of a flag that carries none, by flag kind name (<c>Media:Actions:Defaults:near_duplicate</c> = <c>review</c>,
    /// …). Kinds not named contribute no action.
    /// </summary>
    public Dictionary<string, string?> Defaults { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    static readonly Regex LabelPattern = new("^[a-z0-9][a-z0-9_.:-]{0,63}$", RegexOptions.CultureInvariant);

    /// <summary>A label as compared and reported: trimmed and lower-case; <c>null</c> for <c>null</c>, empty or <c>none</c>.</summary>
    public static string? Normalize(string? label)
    {
        var l = label?.Trim().ToLowerInvariant();
        return string.IsNullOrEmpty(l) || l == None ? null : l;
    }

    /// <summary>Whether an item with this resolved action is "actioned": anything but <c>null</c>/<c>none</c> and <c>allow</c>.</summary>
    public static bool IsActioned(string? action) => Normalize(action) is { } a && a != Allow;

    /// <summary>Checks the configuration and returns it.</summary>
    /// <exception cref="FormatException">A label that is not 1–64 characters of <c>a-z 0-9 _ . : -</c> (starting with a letter or
    /// digit), <c>none</c> or a repeated label in the precedence, or a default for an unknown flag kind; the message names the key.</exception>
    public ActionPolicy Validated()
    {
        if (Precedence is { } list)
        {
            if (list.Length == 0) throw new FormatException("Media:Actions:Precedence is empty: list the action labels, strongest first");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < list.Length; i++)
            {
                var raw = list[i]?.Trim().ToLowerInvariant() ?? "";
                if (raw == Unlisted) { if (!seen.Add(raw)) throw new FormatException("Media:Actions:Precedence names '*' twice"); continue; }
                if (raw == None) throw new FormatException($"Media:Actions:Precedence:{i}: 'none' means no action and cannot be ranked");
                CheckLabel(raw, $"Media:Actions:Precedence:{i}");
                if (!seen.Add(raw)) throw new FormatException($"Media:Actions:Precedence names '{raw}' twice");
            }
        }
        var kinds = Enum.GetValues<FlagKind>().Select(k => k.Name()).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var (kind, action) in Defaults)
        {
            if (!kinds.Contains(kind))
                throw new FormatException($"Media:Actions:Defaults:{kind}: unknown flag kind; expected one of {string.Join(", ", kinds.Order(StringComparer.Ordinal))}");
            if (Normalize(action) is { } a) CheckLabel(a, $"Media:Actions:Defaults:{kind}");
        }
        return this;
    }

    /// <summary>Checks one action label (as given in a policy file or configuration).</summary>
    /// <exception cref="FormatException">Not 1–64 characters of <c>a-z 0-9 _ . : -</c> starting with a letter or digit; the message names <paramref name="where"/>.</exception>
    public static void CheckLabel(string label, string where)
    {
        if (!LabelPattern.IsMatch(label.Trim().ToLowerInvariant()))
            throw new FormatException($"{where}: action label '{label}' is not 1-64 characters of a-z, 0-9, '_', '.', ':', '-' starting with a letter or digit");
    }

    /// <summary>The action one flag contributes: its own label, else its kind's default; <c>null</c> for none.</summary>
    public string? ActionOf(CatalogFlag flag) =>
        Normalize(flag.Action) ?? (Defaults.TryGetValue(flag.Kind.Name(), out var d) ? Normalize(d) : null);

    /// <summary>The submission's action: the strongest label the flags contribute (<see cref="Compare(string, string)"/>), or <c>null</c>.</summary>
    public string? Resolve(IEnumerable<CatalogFlag> flags)
    {
        string[]? order = null;
        string? best = null;
        foreach (var flag in flags)
            if (ActionOf(flag) is { } a && (best is null || Compare(a, best, order ??= Order()) < 0)) best = a;
        return best;
    }

    /// <summary>Orders two labels: negative when <paramref name="a"/> is stronger than <paramref name="b"/>, 0 when equal.</summary>
    public int Compare(string a, string b) => Compare(Normalize(a) ?? None, Normalize(b) ?? None, Order());

    static int Compare(string a, string b, string[] order)
    {
        if (a == b) return 0;
        var byRank = Rank(a, order).CompareTo(Rank(b, order));
        return byRank != 0 ? byRank : string.CompareOrdinal(a, b); // two unlisted labels: by name, so the result never depends on flag order
    }

    /// <summary>Position in the effective precedence (0 = strongest); unlisted labels share the position of <c>*</c>.</summary>
    static int Rank(string label, string[] order)
    {
        if (label == None) return int.MaxValue; // "no action" is weaker than any label
        var i = Array.IndexOf(order, label);
        return i >= 0 ? i : Array.IndexOf(order, Unlisted);
    }

    /// <summary>The effective precedence, normalised, with <c>*</c> in place (inserted after the first entry when absent).</summary>
    public string[] Order()
    {
        var given = Precedence is { Length: > 0 } p ? p : [.. DefaultPrecedence];
        var list = given.Select(l => l?.Trim().ToLowerInvariant() ?? "").Where(l => l.Length > 0 && l != None).Distinct().ToList();
        if (!list.Contains(Unlisted)) list.Insert(Math.Min(1, list.Count), Unlisted);
        return [.. list];
    }
}
