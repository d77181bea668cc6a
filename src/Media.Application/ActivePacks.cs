using Media.Domain;
using Media.Embeddings.Packs;

namespace Media.Application;

/// <summary>
/// Which loaded version of each pack name search and detection use: with one version of a name loaded, that one; with
/// several (a new version loaded beside the old while it reprocesses the catalog), the catalog's active version
/// (<c>media pack activate NAME@VERSION</c>, <see cref="Media.Catalog.IReprocessStore.ActiveVersion"/>) when it is loaded,
/// else the first loaded. Every loaded version still embeds new items, so both stay current during a migration. The
/// alias is read again at most once a second, so a running worker follows an activation within a second; reading it is
/// one row, so a switch is atomic (a request sees the old version or the new one, never a mix). Thread-safe.
/// </summary>
/// <param name="packs">The loaded packs.</param>
/// <param name="activeVersion">The catalog's active version of a pack name, or null when none was activated (or no catalog).</param>
public sealed class ActivePacks(IReadOnlyList<ModelPack> packs, Func<string, string?> activeVersion)
{
    static readonly TimeSpan Refresh = TimeSpan.FromSeconds(1);
    readonly Lock _gate = new();
    readonly Dictionary<string, (string? Version, DateTime Read)> _aliases = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="key"/> is the version of its name that search and detection use.</summary>
    public bool IsActive(PackKey key)
    {
        var versions = packs.Where(p => p.Name == key.Name).ToArray();
        if (versions.Length <= 1) return true;
        var alias = Alias(key.Name);
        var active = versions.FirstOrDefault(p => p.Manifest.Version == alias) ?? versions[0];
        return active.Manifest.Version == key.Version;
    }

    /// <summary>The loaded packs that search and detection use: one per name, in load order.</summary>
    public IReadOnlyList<ModelPack> Packs => [.. packs.Where(p => IsActive(p.Key))];

    string? Alias(string name)
    {
        lock (_gate)
        {
            var now = DateTime.UtcNow;
            if (_aliases.TryGetValue(name, out var cached) && now - cached.Read < Refresh) return cached.Version;
            var version = activeVersion(name);
            _aliases[name] = (version, now);
            return version;
        }
    }
}
