using Media.Catalog;
using Media.Domain;

namespace Media.Application;

/// <summary>An item with its flags and its near-duplicates in both directions (for the item view).</summary>
/// <param name="Item">The catalogued item.</param>
/// <param name="Flags">Every flag recorded for it (its own submission's, then later exact duplicates').</param>
/// <param name="NearDuplicates">Items it was flagged as a near-duplicate of (<c>original</c>) and items flagged as near-duplicates of it (<c>copy</c>).</param>
public sealed record MediaDetails(CatalogItem Item, IReadOnlyList<CatalogFlag> Flags, IReadOnlyList<NearDuplicate> NearDuplicates);

/// <summary>One near-duplicate relation of an item.</summary>
/// <param name="Id">The other item's id.</param>
/// <param name="Path">The other item's first path, when still catalogued.</param>
/// <param name="Modality">The other item's modality.</param>
/// <param name="Relation"><c>original</c>: the other item came first and this one was flagged as its near-duplicate; <c>copy</c>: the other item was flagged as a near-duplicate of this one.</param>
/// <param name="Method">How it was found (<c>pdq</c>, <c>chromaprint</c>, <c>embedding:&lt;pack&gt;</c>).</param>
/// <param name="Distance">The measured distance (Hamming bits, bit error rate or cosine distance, per method).</param>
/// <param name="Threshold">The threshold it was compared with.</param>
public sealed record NearDuplicate(string Id, string? Path, string? Modality, string Relation, string Method, double? Distance, double? Threshold);

/// <summary>One piece of evidence that a group member duplicates another item.</summary>
/// <param name="Of">The item it duplicates.</param>
/// <param name="Method">How it was found.</param>
/// <param name="Distance">The measured distance, in the method's unit.</param>
/// <param name="Threshold">The threshold it was compared with.</param>
public sealed record DuplicateEvidence(string Of, string Method, double? Distance, double? Threshold);

/// <summary>A member of a duplicate group with the flags that tie it to the group.</summary>
public sealed record DuplicateMember(string Id, string? Path, string? Modality, IReadOnlyList<DuplicateEvidence> Evidence);

/// <summary>A group of near-duplicates: the earliest item (the original) and the items flagged, directly or through each other, as its near-duplicates.</summary>
public sealed record DuplicateGroup(string OriginalId, string? OriginalPath, string? Modality, IReadOnlyList<DuplicateMember> Members);

/// <summary>One page of duplicate groups, most recently flagged first.</summary>
/// <param name="Page">1-based page number.</param>
/// <param name="PageSize">Groups per page.</param>
/// <param name="TotalGroups">Groups in all.</param>
/// <param name="Groups">This page's groups.</param>
public sealed record DuplicatePage(int Page, int PageSize, int TotalGroups, IReadOnlyList<DuplicateGroup> Groups);

/// <summary>
/// Read-side queries over the catalog for the HTTP API and the web page: an item with its flags and near-duplicates,
/// the near-duplicate groups for review, and the catalog's counts. Thread-safe (the catalog is).
/// </summary>
public sealed class MediaQueries(IMediaCatalog catalog)
{
    /// <summary>The item with this id and its flags and near-duplicates, or null when it is not catalogued.</summary>
    public MediaDetails? Details(string id)
    {
        if (catalog.Find(id) is not { } item) return null;
        var flags = catalog.Flags(id);
        var near = new List<NearDuplicate>();
        foreach (var f in flags.Where(f => f.Kind == FlagKind.NearDuplicate && f.Of is not null && f.Of != id))
        {
            var other = catalog.Find(f.Of!);
            near.Add(new NearDuplicate(f.Of!, other?.Path ?? f.OfPath, other?.Modality, "original", f.Method, f.Distance, f.Threshold));
        }
        foreach (var (mediaId, f) in catalog.FlagsOf(id).Where(x => x.Flag.Kind == FlagKind.NearDuplicate))
        {
            var other = catalog.Find(mediaId);
            near.Add(new NearDuplicate(mediaId, other?.Path, other?.Modality, "copy", f.Method, f.Distance, f.Threshold));
        }
        return new MediaDetails(item, flags, near);
    }

    /// <summary>
    /// The near-duplicate groups, most recently flagged first, one page at a time. Items joined by near-duplicate flags,
    /// directly or through each other, form one group; its original is the member no flag names as a near-duplicate
    /// (the earliest). Grouping reads only the flags (one pass); paths are read for the page's members only.
    /// </summary>
    /// <param name="page">1-based page.</param>
    /// <param name="pageSize">Groups per page, 1–200.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="page"/> below 1 or <paramref name="pageSize"/> outside 1–200.</exception>
    public DuplicatePage Duplicates(int page = 1, int pageSize = 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(page, 1);
        if (pageSize is < 1 or > 200) throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize, "page size must be 1–200");
        var parent = new Dictionary<string, string>(StringComparer.Ordinal);
        string Root(string x)
        {
            while (parent[x] != x) x = parent[x] = parent[parent[x]]; // path halving
            return x;
        }
        var evidence = new Dictionary<string, List<DuplicateEvidence>>(StringComparer.Ordinal);
        var order = new Dictionary<string, long>(StringComparer.Ordinal); // member → position of its latest flag
        long n = 0;
        foreach (var (mediaId, f) in catalog.AllFlags(FlagKind.NearDuplicate))
        {
            n++;
            if (f.Of is not { } of || of == mediaId) continue;
            parent.TryAdd(mediaId, mediaId);
            parent.TryAdd(of, of);
            var (a, b) = (Root(mediaId), Root(of));
            if (a != b) parent[a] = b;
            (evidence.TryGetValue(mediaId, out var list) ? list : evidence[mediaId] = []).Add(new DuplicateEvidence(of, f.Method, f.Distance, f.Threshold));
            order[mediaId] = n;
        }
        var groups = parent.Keys.GroupBy(Root)
            .Select(g => (Members: g.ToArray(), Latest: g.Max(m => order.GetValueOrDefault(m))))
            .OrderByDescending(g => g.Latest)
            .ToArray();
        var pageGroups = groups.Skip((page - 1) * pageSize).Take(pageSize).Select(g =>
        {
            var items = g.Members.Select(id => (Id: id, Item: catalog.Find(id))).ToArray();
            // The original: not flagged itself (the earliest by sequence when several are not, e.g. two originals one copy resembles).
            var original = items.Where(x => !evidence.ContainsKey(x.Id)).OrderBy(x => x.Item?.Seq ?? long.MaxValue).Select(x => x.Id).FirstOrDefault()
                ?? items.OrderBy(x => x.Item?.Seq ?? long.MaxValue).First().Id;
            var o = items.First(x => x.Id == original).Item;
            var members = items.Where(x => x.Id != original).OrderBy(x => x.Item?.Seq ?? long.MaxValue)
                .Select(x => new DuplicateMember(x.Id, x.Item?.Path, x.Item?.Modality, evidence.GetValueOrDefault(x.Id) ?? [])).ToArray();
            return new DuplicateGroup(original, o?.Path, o?.Modality, members);
        }).ToArray();
        return new DuplicatePage(page, pageSize, groups.Length, pageGroups);
    }

    /// <summary>Items, items per modality, embeddings per pack, flags per kind.</summary>
    public CatalogStats Stats() => catalog.Stats();
}
