using Media.Catalog;
using Media.Contracts.V1;

namespace Media.Detection;

/// <summary>A detection rule evaluated on each new item before it is indexed (anomaly, concepts, hash banks).</summary>
public interface IFlagRule
{
    /// <summary>Flags for <paramref name="item"/> against what is indexed now.</summary>
    IEnumerable<CatalogFlag> Evaluate(MediaEncoded item);

    /// <summary>
    /// Whether the rule also judges exact duplicates (bytes already catalogued, status <c>duplicate</c>). Such an item was
    /// not re-encoded: the rule sees it with the catalogued copy's hashes (PDQ, dihedral hashes, Chromaprint) and no
    /// embeddings. False by default: rules about an item's place among the indexed items (anomaly) have nothing to add
    /// for a copy of an indexed item; rules about the content itself (hash banks) do.
    /// </summary>
    bool EvaluatesExactDuplicates => false;
}

/// <summary>The embeddings a rule may use: those of <c>semantic: true</c> packs, or every pack when <c>allowNonSemantic</c> (tests and demos).</summary>
static class Usable
{
    public static IEnumerable<PackEmbedding> Embeddings(MediaEncoded item, bool allowNonSemantic) =>
        item.Embeddings.Where(e => e.Semantic || allowNonSemantic);
}
