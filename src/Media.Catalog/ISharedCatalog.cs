namespace Media.Catalog;

/// <summary>
/// A catalog that several processes on several machines write at once (the PostgreSQL catalog). Detection decides an
/// item against everything catalogued before it, so two detect nodes must never decide at the same time against states
/// that miss each other's item: each decision runs under <see cref="LockDetection"/>, a lock the database itself holds
/// (not a coordinator of our own), and starts by applying the rows other nodes committed.
/// <para>Contract:</para>
/// <list type="bullet">
/// <item>At most one holder at a time across every process of the catalog; a holder that dies (<c>kill -9</c>, lost
/// connection) releases it at once.</item>
/// <item>An <see cref="IMediaCatalog.Insert"/> made through the holding catalog object while it holds the lock commits
/// only if the lock is still held at commit time; otherwise it writes nothing and throws
/// <see cref="DetectionLockLostException"/>, and the caller decides again.</item>
/// <item>Every row committed by a previous holder is visible to the next holder.</item>
/// </list>
/// </summary>
public interface ISharedCatalog
{
    /// <summary>Blocks until this catalog object holds the detection lock; dispose to release it (from any thread). Not
    /// reentrant: one hold per catalog object at a time (the detector serialises its decisions anyway).</summary>
    /// <exception cref="CatalogException">The database cannot be reached after retrying.</exception>
    IDisposable LockDetection();
}

/// <summary>The detection lock was lost (its connection dropped: a database restart) before the insert committed; nothing was
/// written. Deciding again under a new lock is safe.</summary>
public sealed class DetectionLockLostException(string message) : Exception(message);
