using Media.Domain;

namespace Media.Catalog;

/// <summary>
/// Catalog writes that commit together, in one transaction (group commit): detection decides a group of items one
/// after the other and makes them durable with one commit, where one commit per item spends most of its catalog time on
/// the commit itself (<see cref="SqliteCatalog"/> at 10⁶ items: 29 <c>pwrite</c> and 8 <c>fcntl</c> calls per item
/// committed alone, 14 and 0.4 in groups of up to 16; README, "Benchmarks").
/// <para>Contract (checked by <c>CatalogContract</c>):</para>
/// <list type="bullet">
/// <item><see cref="Insert"/> and <see cref="RecordSubmission"/> behave as the catalog's own, each write all or nothing,
/// except that they are durable only once <see cref="Commit"/> returns; disposing a group that was not committed
/// throws every write of it away.</item>
/// <item>Reads through the catalog on the thread that began the group see the group's writes (a later item of the group
/// names an earlier one as its original; a submission delivered twice within a group is recorded once).</item>
/// <item>A group belongs to the thread that began it: it is used, committed and disposed there.</item>
/// </list>
/// An implementation may commit each write at once (<see cref="ImmediateWriteGroup"/>): the contract holds, and only
/// the speed-up is lost.
/// </summary>
public interface ICatalogWriteGroup : IDisposable
{
    /// <summary>As <see cref="IMediaCatalog.Insert"/>, within the group.</summary>
    /// <exception cref="ArgumentException">The submission is not <see cref="SubmissionStatus.Indexed"/> or names another media id.</exception>
    CatalogItem? Insert(CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission);

    /// <summary>As <see cref="IMediaCatalog.RecordSubmission"/>, within the group.</summary>
    void RecordSubmission(SubmissionRecord submission);

    /// <summary>Makes every write of the group durable, all or none: when it throws, none of them was committed.</summary>
    void Commit();
}

/// <summary>A write group whose every write commits at once, through the catalog's own calls: for catalogs where
/// grouping is not implemented (<c>PostgresCatalog</c>). <see cref="Commit"/> has nothing left to do.</summary>
public sealed class ImmediateWriteGroup(IMediaCatalog catalog) : ICatalogWriteGroup
{
    public CatalogItem? Insert(CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission) =>
        catalog.Insert(item, embeddings, submission);

    public void RecordSubmission(SubmissionRecord submission) => catalog.RecordSubmission(submission);

    public void Commit() { }

    public void Dispose() { }
}
