using System.Runtime.InteropServices;
using LiteDB;
using Media.Domain;

namespace Media.Catalog;

/// <summary>
/// The catalog on LiteDB 5 (<c>catalog.litedb</c> under the data folder), as BSON documents in four collections:
/// <c>media</c> (the auto-assigned Int64 <c>_id</c> is the sequence; the SHA-256 id under a unique index),
/// <c>embeddings</c> (one document per item and pack, the vector as float32 bytes), <c>submissions</c> (keyed by
/// submission id) and <c>flags</c> (auto Int64 <c>_id</c>, in recording order). <see cref="Insert"/> and
/// <see cref="RecordSubmission"/> run in one explicit transaction (<c>BeginTrans</c>/<c>Commit</c>) under a lock, so
/// sequences follow commit order; a duplicate id rolls back. The schema version is LiteDB's <c>UserVersion</c> pragma; a
/// file written by a newer build is refused.
/// <para>Connection modes (<see cref="ConnectionType"/>): <c>Shared</c> (the default of <see cref="Open(string)"/>)
/// opens and closes the engine around every operation under a cross-process named mutex, so a second process
/// (<c>media stats</c> beside <c>media serve</c>) can use the file; closing the engine flushes the write queue and
/// checkpoints the log, so a commit is on disk when <see cref="Insert"/> returns. <c>Direct</c> keeps one engine open
/// for the process: faster, but LiteDB writes a commit's log pages on a background thread after <c>Commit</c> returns,
/// and a second process opening the same file has no cross-process coordination. See
/// <c>docs/catalog-store-measurement.md</c>.</para>
/// <para>Streamed reads (<see cref="Items"/>, <see cref="Embeddings"/>) are read in batches, each with its cursor
/// closed before the caller sees it, so that a long scan neither holds the shared-mode mutex between batches nor keeps
/// the caller from using the catalog inside its loop.</para>
/// </summary>
public sealed class LiteDbCatalog : IMediaCatalog
{
    /// <summary>The schema this build writes (LiteDB <c>UserVersion</c>). 1: the first LiteDB layout.</summary>
    public const int SchemaVersion = 1;
    public const string FileName = "catalog.litedb";

    const string MediaCollection = "media", EmbeddingsCollection = "embeddings", SubmissionsCollection = "submissions", FlagsCollection = "flags";

    readonly LiteDatabase _db;
    readonly ILiteCollection<BsonDocument> _media, _embeddings, _submissions, _flags;
    readonly Lock _gate = new();

    public string Location { get; }

    /// <summary>The LiteDB connection mode this catalog was opened with.</summary>
    public ConnectionType Connection { get; }

    LiteDbCatalog(string path, ConnectionType connection, LiteDatabase db)
    {
        Location = path;
        Connection = connection;
        _db = db;
        _media = db.GetCollection(MediaCollection, BsonAutoId.Int64);
        _embeddings = db.GetCollection(EmbeddingsCollection, BsonAutoId.Int64);
        _submissions = db.GetCollection(SubmissionsCollection, BsonAutoId.Guid);
        _flags = db.GetCollection(FlagsCollection, BsonAutoId.Int64);
    }

    /// <summary>Opens (creating if needed) <c>catalog.litedb</c> in <paramref name="dataDirectory"/> in shared mode.</summary>
    /// <exception cref="CatalogException">The file is not a catalog, is corrupt, or has a newer schema than this build.</exception>
    public static LiteDbCatalog Open(string dataDirectory) => Open(dataDirectory, ConnectionType.Shared);

    /// <summary>Opens (creating if needed) <c>catalog.litedb</c> in <paramref name="dataDirectory"/> with a LiteDB connection mode.</summary>
    /// <exception cref="CatalogException">The file is not a catalog, is corrupt, or has a newer schema than this build.</exception>
    public static LiteDbCatalog Open(string dataDirectory, ConnectionType connection)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(Path.GetFullPath(dataDirectory), FileName);
        LiteDatabase? db = null;
        try
        {
            db = new LiteDatabase(new ConnectionString { Filename = path, Connection = connection, Upgrade = false });
            var catalog = new LiteDbCatalog(path, connection, db);
            catalog.Migrate();
            return catalog;
        }
        catch (LiteException ex)
        {
            db?.Dispose();
            throw new CatalogException($"{path}: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is not CatalogException && ex is InvalidCastException or InvalidOperationException or IOException or ArgumentException)
        {
            db?.Dispose();
            throw new CatalogException($"{path}: {ex.Message}", ex);
        }
        catch
        {
            db?.Dispose();
            throw;
        }
    }

    void Migrate()
    {
        var version = _db.UserVersion;
        if (version > SchemaVersion)
            throw new CatalogException($"{Location} has catalog schema version {version}; this build knows versions up to {SchemaVersion}. Use a newer media.");
        if (version == SchemaVersion) return;
        lock (_gate)
        {
            // Version 1: the collections and their indexes (creating an index creates its collection). Each EnsureIndex
            // is atomic and idempotent, and LiteDB sets a pragma outside any explicit transaction: a crash before the
            // version is written leaves version 0, and the next open runs this again.
            _media.EnsureIndex("id", "$.id", unique: true);
            _media.EnsureIndex("modality", "$.modality");
            _embeddings.EnsureIndex("seq", "$.seq");
            _embeddings.EnsureIndex("pack", "$.pack");
            _flags.EnsureIndex("mediaId", "$.mediaId");
            _flags.EnsureIndex("submissionId", "$.submissionId");
            _flags.EnsureIndex("kind", "$.kind");
            _db.UserVersion = SchemaVersion;
        }
    }

    /// <summary>
    /// A predicate with its values as parameters. LiteDB compiles every distinct expression text once and keeps it in a
    /// static cache: <c>Query.EQ("id", value)</c> writes the value into the text, so every lookup of a new id would
    /// compile (milliseconds) and the cache would grow with every item; with parameters the text is constant.
    /// </summary>
    static BsonExpression Where(string predicate, params BsonValue[] args) => BsonExpression.Create(predicate, args);

    static BsonValue Value(string? s) => s is null ? BsonValue.Null : new BsonValue(s);
    static BsonValue Value(double? d) => d is { } v ? new BsonValue(v) : BsonValue.Null;
    static BsonValue Value(byte[]? b) => b is null ? BsonValue.Null : new BsonValue(b);
    static string? Str(BsonValue v) => v.IsNull ? null : v.AsString;
    static double? Num(BsonValue v) => v.IsNull ? null : v.AsDouble;
    static byte[]? Bytes(BsonValue v) => v.IsNull ? null : v.AsBinary;

    static BsonDocument ItemDocument(CatalogItem item, DateTime now) => new()
    {
        ["id"] = item.Id,
        ["path"] = item.Path,
        ["modality"] = item.Modality,
        ["format"] = Value(item.Format),
        ["size"] = item.SizeBytes,
        ["width"] = item.Width,
        ["height"] = item.Height,
        ["pdq"] = Value(item.Pdq),
        ["pdqQuality"] = item.PdqQuality,
        ["pdqDihedral"] = Value(item.PdqDihedral),
        ["duration"] = Value(item.DurationSeconds),
        ["chromaprint"] = item.Chromaprint is null ? BsonValue.Null : new BsonValue(MemoryMarshal.AsBytes(item.Chromaprint.AsSpan()).ToArray()),
        ["collection"] = Value(item.Collection),
        ["createdAt"] = now,
    };

    static CatalogItem ReadItem(BsonDocument d) => new(
        d["_id"].AsInt64, d["id"].AsString, d["path"].AsString, d["modality"].AsString, Str(d["format"]), d["size"].AsInt64,
        d["width"].AsInt32, d["height"].AsInt32, Bytes(d["pdq"]), d["pdqQuality"].AsInt32, Bytes(d["pdqDihedral"]), Num(d["duration"]),
        d["chromaprint"].IsNull ? null : MemoryMarshal.Cast<byte, uint>(d["chromaprint"].AsBinary.AsSpan()).ToArray(), Str(d["collection"]),
        new DateTimeOffset(d["createdAt"].AsDateTime.ToUniversalTime()));

    /// <summary>Now in UTC, to the millisecond: what a BSON date keeps, so the returned item equals the stored one.</summary>
    static DateTime Now()
    {
        var t = DateTime.UtcNow;
        return new DateTime(t.Ticks - t.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
    }

    public CatalogItem? Insert(CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission)
    {
        Check(item, submission);
        lock (_gate)
        {
            _db.BeginTrans();
            try
            {
                var stored = Write(item, embeddings, submission);
                if (stored is null) _db.Rollback();
                else _db.Commit();
                return stored;
            }
            catch (LiteException ex) when (ex.ErrorCode == LiteException.INDEX_DUPLICATE_KEY)
            {
                _db.Rollback(); // catalogued meanwhile by another process: the unique index refused it
                return null;
            }
            catch
            {
                _db.Rollback();
                throw;
            }
        }
    }

    /// <summary>
    /// Not part of <see cref="IMediaCatalog"/>: many inserts in one transaction (items already catalogued are skipped),
    /// to build a large catalog for a measurement in minutes rather than hours. Returns how many were catalogued.
    /// </summary>
    internal int InsertBatch(IEnumerable<(CatalogItem Item, IReadOnlyList<CatalogEmbedding> Embeddings, SubmissionRecord Submission)> batch)
    {
        lock (_gate)
        {
            _db.BeginTrans();
            try
            {
                var count = 0;
                foreach (var (item, embeddings, submission) in batch)
                {
                    Check(item, submission);
                    if (Write(item, embeddings, submission) is not null) count++;
                }
                _db.Commit();
                return count;
            }
            catch
            {
                _db.Rollback();
                throw;
            }
        }
    }

    static void Check(CatalogItem item, SubmissionRecord submission)
    {
        if (submission.Status != SubmissionStatus.Indexed || submission.MediaId != item.Id)
            throw new ArgumentException($"an insert records the indexed submission of its own item; got {submission.Status.Name()} of {submission.MediaId ?? "nothing"} for {item.Id}", nameof(submission));
    }

    /// <summary>Writes an item, its embeddings and its submission inside the caller's transaction; null, writing nothing, when the id is catalogued.</summary>
    CatalogItem? Write(CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission)
    {
        if (_media.Exists(Where("$.id = @0", item.Id))) return null;
        var now = Now();
        var seq = _media.Insert(ItemDocument(item, now)).AsInt64;
        foreach (var e in embeddings)
            _embeddings.Insert(new BsonDocument
            {
                ["seq"] = seq,
                ["pack"] = e.Pack.ToString(),
                ["space"] = e.Space,
                ["semantic"] = e.Semantic,
                ["dim"] = e.Vector.Length,
                ["vector"] = MemoryMarshal.AsBytes(e.Vector.AsSpan()).ToArray(),
            });
        WriteSubmission(submission, now);
        return item with { Seq = seq, CreatedAt = new DateTimeOffset(now) };
    }

    public void RecordSubmission(SubmissionRecord submission)
    {
        lock (_gate)
        {
            _db.BeginTrans();
            try
            {
                WriteSubmission(submission, Now());
                _db.Commit();
            }
            catch
            {
                _db.Rollback();
                throw;
            }
        }
    }

    /// <summary>Writes a submission document and its flags unless the submission id is already recorded (inside the caller's transaction).</summary>
    void WriteSubmission(SubmissionRecord s, DateTime now)
    {
        if (_submissions.Exists(Where("$._id = @0", s.SubmissionId))) return;
        _submissions.Insert(new BsonDocument
        {
            ["_id"] = s.SubmissionId,
            ["correlationId"] = s.CorrelationId,
            ["mediaId"] = Value(s.MediaId),
            ["path"] = s.Path,
            ["modality"] = Value(s.Modality),
            ["status"] = s.Status.Name(),
            ["error"] = Value(s.Error),
            ["createdAt"] = now,
        });
        foreach (var f in s.Flags)
            _flags.Insert(new BsonDocument
            {
                ["submissionId"] = s.SubmissionId,
                ["mediaId"] = Value(s.MediaId),
                ["kind"] = f.Kind.Name(),
                ["method"] = f.Method,
                ["of"] = Value(f.Of),
                ["ofPath"] = Value(f.OfPath),
                ["distance"] = Value(f.Distance),
                ["threshold"] = Value(f.Threshold),
                ["score"] = Value(f.Score),
                ["label"] = Value(f.Label),
                ["action"] = Value(f.Action),
            });
    }

    static CatalogFlag ReadFlag(BsonDocument d) => new(FlagKinds.Parse(d["kind"].AsString), d["method"].AsString, Str(d["of"]), Str(d["ofPath"]),
        Num(d["distance"]), Num(d["threshold"]), Num(d["score"]), Str(d["label"]), Str(d["action"]));

    /// <summary>Flags matching a query, in recording order (<c>_id</c>): an index on a non-unique key does not promise an order among equal keys.</summary>
    List<CatalogFlag> FlagsWhere(BsonExpression predicate) =>
        _flags.Find(predicate).OrderBy(d => d["_id"].AsInt64).Select(ReadFlag).ToList();

    public SubmissionRecord? FindSubmission(Guid submissionId)
    {
        lock (_gate)
        {
            // One (read) transaction: one consistent snapshot, and one engine open in shared mode.
            _db.BeginTrans();
            try
            {
                var d = _submissions.FindById(submissionId);
                if (d is null) return null;
                return new SubmissionRecord(submissionId, d["correlationId"].AsGuid, Str(d["mediaId"]), d["path"].AsString, Str(d["modality"]),
                    SubmissionStatuses.Parse(d["status"].AsString), FlagsWhere(Where("$.submissionId = @0", submissionId)), Str(d["error"]));
            }
            finally
            {
                _db.Rollback();
            }
        }
    }

    public CatalogItem? Find(string id)
    {
        var d = _media.FindOne(Where("$.id = @0", id));
        return d is null ? null : ReadItem(d);
    }

    public IReadOnlyList<CatalogFlag> Flags(string mediaId) => FlagsWhere(Where("$.mediaId = @0", mediaId));

    /// <summary>Sequences per batch of a streamed read (settable for tests).</summary>
    internal int Batch { get; set; } = 2000;

    /// <summary>
    /// Streamed reads come in batches of <see cref="Batch"/> sequences, each read to the end and its cursor closed before
    /// the caller sees it: a LiteDB cursor left open across the caller's loop would hold the shared-mode mutex (and
    /// with it every writer, in every process) for the whole scan, and would make a catalog call from inside the loop
    /// fail (a thread with an open cursor cannot begin a transaction). The stream ends at the last sequence committed
    /// when it began; as items are only ever appended, it returns what a snapshot taken then would.
    /// </summary>
    IEnumerable<List<T>> Batches<T>(long afterSeq, Func<long, long, List<T>> read)
    {
        var last = LastSeq;
        for (var from = afterSeq + 1; from <= last; from += Batch)
        {
            var batch = read(from, Math.Min(last, from + Batch - 1));
            if (batch.Count > 0) yield return batch;
        }
    }

    public IEnumerable<CatalogItem> Items(long afterSeq = 0) =>
        Batches(afterSeq, (from, to) => _media.Find(Where("$._id BETWEEN @0 AND @1", from, to)).Select(ReadItem).ToList()).SelectMany(b => b);

    public IEnumerable<(long Seq, CatalogEmbedding Embedding)> Embeddings(long afterSeq = 0, PackKey? pack = null)
    {
        // Along the seq index; the pack, when given, is filtered here rather than by the pack index, which would need a
        // sort of everything it matches to come back in sequence order. Within an item, by pack (as SQL's ORDER BY seq, pack).
        var wanted = pack?.ToString();
        return Batches(afterSeq, (from, to) => _embeddings.Find(Where("$.seq BETWEEN @0 AND @1", from, to))
            .Where(d => wanted is null || d["pack"].AsString == wanted)
            .Select(d => (Seq: d["seq"].AsInt64, Pack: d["pack"].AsString, Document: d))
            .OrderBy(e => e.Seq).ThenBy(e => e.Pack, StringComparer.Ordinal)
            .Select(e => (e.Seq, new CatalogEmbedding(PackKey.Parse(e.Pack), e.Document["space"].AsString, e.Document["semantic"].AsBoolean,
                MemoryMarshal.Cast<byte, float>(e.Document["vector"].AsBinary.AsSpan()).ToArray())))
            .ToList()).SelectMany(b => b);
    }

    public long LastSeq => _media.Find(Query.All(Query.Descending), limit: 1).FirstOrDefault()?["_id"].AsInt64 ?? 0;

    public CatalogStats Stats()
    {
        lock (_gate)
        {
            _db.BeginTrans();
            try
            {
                // Selecting the indexed field alone reads the index keys, not the documents (LiteDB's GROUP BY would load
                // every document: every vector, for the packs); the keys are counted here.
                Dictionary<string, long> Group(ILiteCollection<BsonDocument> c, string field)
                {
                    var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
                    foreach (var d in c.Query().Select($"$.{field}").ToDocuments())
                    {
                        var key = d[field].AsString;
                        counts[key] = counts.GetValueOrDefault(key) + 1;
                    }
                    return new Dictionary<string, long>(counts);
                }
                var byModality = Group(_media, "modality");
                return new CatalogStats(byModality.Values.Sum(), byModality, Group(_embeddings, "pack"), Group(_flags, "kind"));
            }
            finally
            {
                _db.Rollback();
            }
        }
    }

    public void Dispose()
    {
        lock (_gate) _db.Dispose();
    }
}
