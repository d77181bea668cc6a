using Media.Catalog;
using Media.Contracts.V1;

namespace Media.Detection;

/// <summary>A detection rule evaluated on each new item before it is indexed (anomaly, concepts).</summary>
public interface IFlagRule
{
    /// <summary>Flags for <paramref name="item"/> against what is indexed now.</summary>
    IEnumerable<CatalogFlag> Evaluate(MediaEncoded item);
}

/// <summary>The embeddings a rule may use: those of <c>semantic: true</c> packs, or every pack when <c>allowNonSemantic</c> (tests and demos).</summary>
static class Usable
{
    public static IEnumerable<PackEmbedding> Embeddings(MediaEncoded item, bool allowNonSemantic) =>
        item.Embeddings.Where(e => e.Semantic || allowNonSemantic);
}
