using Media.Catalog;
using Media.Contracts.V1;
using Media.Domain;

namespace Media.Detection;

/// <summary>
/// Flags items by a pack's classifier head (the <c>classifications</c> of a <see cref="ConceptPolicy"/>): for each rule, when
/// the item's embedding in the rule's pack carries a classification (<see cref="PackEmbedding.Classification"/>) whose
/// probability for the rule's label is at or above the threshold, the item gets
/// <c>{"kind": "classification", "label", "score" (the probability), "threshold", "action", "method": "classifier:&lt;pack&gt;"}</c>.
/// Packs with <c>semantic: false</c> are ignored unless <paramref name="allowNonSemantic"/>. The rules are taken as given:
/// checking them against the loaded packs (pack present, classifier head, label spelling) is the application layer's job.
/// </summary>
/// <param name="rules">The rules, labels spelled as the packs' classifiers spell them.</param>
/// <param name="allowNonSemantic">Also read classifiers of <c>semantic: false</c> packs (tests and demos).</param>
public sealed class ClassificationRule(IReadOnlyList<ClassificationSpec> rules, bool allowNonSemantic = false) : IFlagRule
{
    /// <summary>The rules this instance applies.</summary>
    public IReadOnlyList<ClassificationSpec> Rules => rules;

    public IEnumerable<CatalogFlag> Evaluate(MediaEncoded item)
    {
        foreach (var e in Usable.Embeddings(item, allowNonSemantic))
        {
            if (e.Classification is not { } classes) continue;
            foreach (var r in rules)
                if (r.Pack == e.Pack && classes.TryGetValue(r.Label, out var p) && p >= r.Threshold)
                    yield return new CatalogFlag(FlagKind.Classification, FlagMethods.Classifier(e.Pack), Threshold: r.Threshold, Score: p, Label: r.Label, Action: r.Action);
        }
    }
}
