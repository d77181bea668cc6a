using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Media.Domain;
using Microsoft.Data.Sqlite;

namespace Media.Catalog;

/// <summary>
/// The embedded catalog: SQLite in WAL mode, <c>catalog.db</c> under the data folder. One writer connection, serialised
/// by a lock; every streamed read opens its own connection, so a long scan never blocks writers and another process
/// (<c>media stats</c> beside <c>media serve</c>) reads a consistent snapshot. <c>synchronous = NORMAL</c> in WAL mode:
/// a commit survives a crash of the process (<c>kill -9</c>); a power cut may lose the last transactions, never
/// corrupt the file (sqlite.org/wal.html). Vectors are float32 blobs, hashes raw bytes.
/// <para>Schema migrations run at open, in one transaction each (<see cref="Migrations"/>); a file written by a newer
/// build is refused rather than guessed at.</para>
/// </summary>
public sealed partial class SqliteCatalog : IMediaCatalog, IHashBankStore
{
    /// <summary>The schema this build writes. 1: the first release (results as JSON). 2: sequence keys, submission and flag columns.
    /// 3: hash banks (tables of their own, see <c>SqliteCatalog.Banks.cs</c>). 4: file stamps, reprocessing jobs, pack
    /// aliases and the embedding generation (<c>SqliteCatalog.Jobs.cs</c>).</summary>
    public const int SchemaVersion = 4;
    public const string FileName = "catalog.db";

    readonly SqliteConnection _db;
    readonly string _connectionString;
    readonly Lock _gate = new();
    /// <summary>The writer connection's compiled statements (used under <see cref="_gate"/>).</summary>
    readonly PreparedStatements _statements;
    readonly WalCheckpointer _checkpointer;

    public string Location { get; }

    SqliteCatalog(string path, string connectionString, SqliteConnection db)
    {
        Location = path;
        _connectionString = connectionString;
        _db = db;
        _statements = new PreparedStatements(db);
        _checkpointer = new WalCheckpointer(connectionString);
    }

    /// <summary>Opens (creating if needed) <c>catalog.db</c> in <paramref name="dataDirectory"/>, migrating an older schema.</summary>
    /// <exception cref="CatalogException">The file is not a catalog, is corrupt, or has a newer schema than this build.</exception>
    public static SqliteCatalog Open(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(Path.GetFullPath(dataDirectory), FileName);
        var cs = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString();
        var db = new SqliteConnection(cs);
        try
        {
            db.Open();
            // 16 MiB of page cache: ids and submission ids are random keys, so index inserts touch pages all over the B-trees;
            // no more, because SQLite scans its whole page-cache hash table at every commit (README, "Benchmarks").
            // Checkpoints run on their own connection (WalCheckpointer); the writer's own automatic checkpoint is only the
            // backstop that bounds the WAL (32 MiB) should the background one fall behind.
            Execute(db, null, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON; " +
                $"PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = {WalCheckpointer.BackstopPages};");
            Migrate(db, path);
        }
        catch (SqliteException ex)
        {
            db.Dispose();
            throw new CatalogException($"{path}: {ex.Message}", ex);
        }
        catch
        {
            db.Dispose();
            throw;
        }
        return new SqliteCatalog(path, cs, db);
    }

    static void Migrate(SqliteConnection db, string path)
    {
        var version = Convert.ToInt32(Scalar(db, null, "PRAGMA user_version"), CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
            throw new CatalogException($"{path} has catalog schema version {version}; this build knows versions up to {SchemaVersion}. Use a newer media.");
        var empty = Convert.ToInt64(Scalar(db, null, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"), CultureInfo.InvariantCulture) == 0;
        if (empty) version = 0;
        foreach (var (to, migrate) in Migrations)
        {
            if (version >= to) continue;
            using var tx = db.BeginTransaction();
            migrate(db, tx);
            Execute(db, tx, $"PRAGMA user_version = {to}");
            tx.Commit();
            version = to;
        }
    }

    /// <summary>Migrations in order: (version reached, step). An empty file runs them all from version 0.</summary>
    static readonly (int To, Action<SqliteConnection, SqliteTransaction> Migrate)[] Migrations =
    [
        (2, CreateVersion2),
        (3, CreateVersion3),
        (4, CreateVersion4),
    ];

    const string Version2Tables = """
        CREATE TABLE media (
          seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, path TEXT NOT NULL, modality TEXT NOT NULL, format TEXT,
          size_bytes INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, pdq BLOB, pdq_quality INTEGER NOT NULL,
          pdq_dihedral BLOB, duration REAL, chromaprint BLOB, collection TEXT, created_at TEXT NOT NULL);
        CREATE TABLE embeddings (
          seq INTEGER NOT NULL REFERENCES media(seq), pack TEXT NOT NULL, space TEXT NOT NULL, semantic INTEGER NOT NULL,
          dim INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (seq, pack));
        CREATE INDEX embeddings_pack ON embeddings(pack, seq);
        CREATE TABLE submissions (
          submission_id TEXT PRIMARY KEY, correlation_id TEXT NOT NULL, media_id TEXT, path TEXT NOT NULL, modality TEXT,
          status TEXT NOT NULL, error TEXT, created_at TEXT NOT NULL);
        CREATE TABLE flags (
          id INTEGER PRIMARY KEY AUTOINCREMENT, submission_id TEXT NOT NULL REFERENCES submissions(submission_id), media_id TEXT,
          kind TEXT NOT NULL, method TEXT NOT NULL, of_id TEXT, of_path TEXT, distance REAL, threshold REAL, score REAL,
          label TEXT, action TEXT);
        CREATE INDEX flags_media ON flags(media_id, id);
        CREATE INDEX flags_kind ON flags(kind);
        CREATE INDEX media_modality ON media(modality);
        CREATE INDEX flags_submission ON flags(submission_id, id);
        """;

    /// <summary>
    /// Version 2. From an empty file: create the tables. From version 1 (media keyed by id with a separate seq column,
    /// results stored as JSON, flags without score, concept or action): rebuild media and embeddings on sequence keys
    /// and re-read every stored result into submission rows and complete flag rows (the JSON kept the fields the
    /// version 1 flags table dropped).
    /// </summary>
    static void CreateVersion2(SqliteConnection db, SqliteTransaction tx)
    {
        var fromV1 = Convert.ToInt64(Scalar(db, tx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'media'"), CultureInfo.InvariantCulture) > 0;
        if (!fromV1)
        {
            Execute(db, tx, Version2Tables);
            return;
        }
        Execute(db, tx, """
            ALTER TABLE media RENAME TO media_v1; ALTER TABLE embeddings RENAME TO embeddings_v1;
            ALTER TABLE submissions RENAME TO submissions_v1; ALTER TABLE flags RENAME TO flags_v1;
            DROP INDEX IF EXISTS media_seq; DROP INDEX IF EXISTS flags_media;
            """);
        Execute(db, tx, Version2Tables);
        Execute(db, tx, """
            INSERT INTO media (seq, id, path, modality, format, size_bytes, width, height, pdq, pdq_quality, pdq_dihedral, duration, chromaprint, collection, created_at)
              SELECT seq, id, path, modality, format, size_bytes, width, height, pdq, pdq_quality, pdq_dihedral, duration, chromaprint, collection, created_at
              FROM media_v1 ORDER BY seq;
            INSERT INTO embeddings (seq, pack, space, semantic, dim, vector)
              SELECT m.seq, e.pack, e.space, e.semantic, e.dim, e.vector FROM embeddings_v1 e JOIN media_v1 m ON m.id = e.media_id;
            """);
        var results = new List<(string Json, string CreatedAt)>();
        using (var cmd = Command(db, tx, "SELECT result, created_at FROM submissions_v1 ORDER BY rowid"))
        using (var r = cmd.ExecuteReader())
            while (r.Read()) results.Add((r.GetString(0), r.GetString(1)));
        using var statements = new PreparedStatements(db);
        foreach (var (json, createdAt) in results)
            WriteSubmission(statements, tx, FromVersion1Result(json), createdAt);
        Execute(db, tx, "DROP TABLE flags_v1; DROP TABLE submissions_v1; DROP TABLE embeddings_v1; DROP TABLE media_v1;");
    }

    /// <summary>A version 1 result: the JSON of the bus message <c>MediaProcessed</c> as it was then.</summary>
    static SubmissionRecord FromVersion1Result(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        double? Num(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        var flags = r.TryGetProperty("Flags", out var fs) && fs.ValueKind == JsonValueKind.Array
            ? fs.EnumerateArray().Select(f => new CatalogFlag(FlagKinds.Parse(Str(f, "Kind")!), Str(f, "Method") ?? "", Str(f, "Of"), Str(f, "OfPath"),
                Num(f, "Distance"), Num(f, "Threshold"), Num(f, "Score"), Str(f, "Concept"), Str(f, "Action"))).ToArray()
            : [];
        return new SubmissionRecord(r.GetProperty("SubmissionId").GetGuid(), r.GetProperty("CorrelationId").GetGuid(), Str(r, "MediaId"),
            Str(r, "Path") ?? "", Str(r, "Modality"), SubmissionStatuses.Parse(Str(r, "Status")!), flags, Str(r, "Error"));
    }

    const string MediaColumns = "seq, id, path, modality, format, size_bytes, width, height, pdq, pdq_quality, pdq_dihedral, duration, chromaprint, collection, created_at";

    static CatalogItem ReadItem(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.GetInt64(5), r.GetInt32(6), r.GetInt32(7),
        r.IsDBNull(8) ? null : (byte[])r[8], r.GetInt32(9), r.IsDBNull(10) ? null : (byte[])r[10], r.IsDBNull(11) ? null : r.GetDouble(11),
        r.IsDBNull(12) ? null : MemoryMarshal.Cast<byte, uint>(((byte[])r[12]).AsSpan()).ToArray(), r.IsDBNull(13) ? null : r.GetString(13),
        DateTimeOffset.Parse(r.GetString(14), CultureInfo.InvariantCulture));

    public CatalogItem? Insert(CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission)
    {
        ValidateInsert(item, submission);
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            var now = DateTimeOffset.UtcNow;
            if (WriteItem(tx, item, embeddings, submission, now) is not { } seq) return null; // the transaction rolls back
            tx.Commit();
            _checkpointer.Committed();
            return item with { Seq = seq, CreatedAt = now };
        }
    }

    static void ValidateInsert(CatalogItem item, SubmissionRecord submission)
    {
        if (submission.Status != SubmissionStatus.Indexed || submission.MediaId != item.Id)
            throw new ArgumentException($"an insert records the indexed submission of its own item; got {submission.Status.Name()} of {submission.MediaId ?? "nothing"} for {item.Id}", nameof(submission));
    }

    /// <summary>Writes an item, its embeddings and its submission in <paramref name="tx"/>; its sequence, or null (nothing
    /// written) when the id is already catalogued.</summary>
    long? WriteItem(SqliteTransaction tx, CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission, DateTimeOffset now)
    {
        long seq;
        {
            var cmd = _statements.For("""
            INSERT INTO media (id, path, modality, format, size_bytes, width, height, pdq, pdq_quality, pdq_dihedral, duration, chromaprint, collection, created_at)
            VALUES ($id, $path, $modality, $format, $size, $w, $h, $pdq, $q, $dih, $duration, $fp, $collection, $now)
            ON CONFLICT (id) DO NOTHING RETURNING seq
            """, tx);
            cmd.Parameters.AddWithValue("$id", item.Id);
            cmd.Parameters.AddWithValue("$path", item.Path);
            cmd.Parameters.AddWithValue("$modality", item.Modality);
            cmd.Parameters.AddWithValue("$format", (object?)item.Format ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$size", item.SizeBytes);
            cmd.Parameters.AddWithValue("$w", item.Width);
            cmd.Parameters.AddWithValue("$h", item.Height);
            cmd.Parameters.AddWithValue("$pdq", (object?)item.Pdq ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$q", item.PdqQuality);
            cmd.Parameters.AddWithValue("$dih", (object?)item.PdqDihedral ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$duration", (object?)item.DurationSeconds ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$fp", item.Chromaprint is null ? DBNull.Value : MemoryMarshal.AsBytes(item.Chromaprint.AsSpan()).ToArray());
            cmd.Parameters.AddWithValue("$collection", (object?)item.Collection ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$now", now.ToString("O"));
            if (cmd.ExecuteScalar() is not long assigned) return null; // already catalogued: nothing written
            seq = assigned;
        }
        {
            var cmd = _statements.For("INSERT INTO embeddings (seq, pack, space, semantic, dim, vector) VALUES ($seq, $pack, $space, $semantic, $dim, $vector)", tx);
            var pack = cmd.Parameters.Add("$pack", SqliteType.Text);
            var space = cmd.Parameters.Add("$space", SqliteType.Text);
            var semantic = cmd.Parameters.Add("$semantic", SqliteType.Integer);
            var dim = cmd.Parameters.Add("$dim", SqliteType.Integer);
            var vector = cmd.Parameters.Add("$vector", SqliteType.Blob);
            cmd.Parameters.AddWithValue("$seq", seq);
            foreach (var e in embeddings)
            {
                pack.Value = e.Pack.ToString();
                space.Value = e.Space;
                semantic.Value = e.Semantic ? 1 : 0;
                dim.Value = e.Vector.Length;
                vector.Value = MemoryMarshal.AsBytes(e.Vector.AsSpan()).ToArray();
                cmd.ExecuteNonQuery();
            }
        }
        WriteSubmission(_statements, tx, submission, now.ToString("O"));
        return seq;
    }

    public ICatalogWriteGroup BeginWriteGroup() => new WriteGroup(this);

    /// <summary>The open write group's transaction, for the writer connection's reads on the group's thread (the only
    /// thread that gets past <see cref="_gate"/> while a group is open); null when none is open.</summary>
    SqliteTransaction? Current => _group?.Transaction;
    WriteGroup? _group;

    /// <summary>
    /// The writer connection's transaction, held with the catalog's lock by the thread that began the group until the
    /// group is disposed: other threads' calls wait meanwhile (a detection group of 16 items: about 16 ms at 10⁶ items).
    /// Each write is a savepoint within it, so a write that fails leaves the group's others. Streamed reads
    /// (<see cref="Items"/>, <see cref="Embeddings"/>) run on connections of their own and see only what was committed.
    /// </summary>
    sealed class WriteGroup : ICatalogWriteGroup
    {
        readonly SqliteCatalog _catalog;
        int _writes;
        bool _committed, _disposed;

        public SqliteTransaction Transaction { get; }

        public WriteGroup(SqliteCatalog catalog)
        {
            _catalog = catalog;
            catalog._gate.Enter();
            try
            {
                if (catalog._group is not null) throw new InvalidOperationException("a write group is already open on this thread");
                Transaction = catalog._db.BeginTransaction();
                catalog._group = this;
            }
            catch
            {
                catalog._gate.Exit();
                throw;
            }
        }

        public CatalogItem? Insert(CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission)
        {
            ValidateInsert(item, submission);
            var now = DateTimeOffset.UtcNow;
            return Write(() => _catalog.WriteItem(Transaction, item, embeddings, submission, now)) is { } seq ? item with { Seq = seq, CreatedAt = now } : null;
        }

        public void RecordSubmission(SubmissionRecord submission) =>
            Write(() => WriteSubmission(_catalog._statements, Transaction, submission, DateTimeOffset.UtcNow.ToString("O")));

        void Write(Action write) => Write(() => { write(); return true; });

        /// <summary>One write, in a savepoint: all of it or, when it throws, none of it.</summary>
        T Write<T>(Func<T> write)
        {
            if (_committed || _disposed) throw new InvalidOperationException("the write group has ended");
            Transaction.Save("write");
            try
            {
                var result = write();
                Transaction.Release("write");
                _writes++;
                return result;
            }
            catch
            {
                Transaction.Rollback("write");
                Transaction.Release("write");
                throw;
            }
        }

        public void Commit()
        {
            if (_committed || _disposed) throw new InvalidOperationException("the write group has ended");
            Transaction.Commit();
            _committed = true;
            _catalog._checkpointer.Committed(_writes);
        }

        /// <summary>Rolls back what was not committed and lets other threads in.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            try
            {
                Transaction.Dispose();
            }
            finally
            {
                _catalog._group = null;
                _catalog._gate.Exit();
            }
        }
    }

    public void RecordSubmission(SubmissionRecord submission)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            WriteSubmission(_statements, tx, submission, DateTimeOffset.UtcNow.ToString("O"));
            tx.Commit();
            _checkpointer.Committed();
        }
    }

    /// <summary>Writes a submission row and its flags unless the submission id is already recorded.</summary>
    static void WriteSubmission(PreparedStatements statements, SqliteTransaction tx, SubmissionRecord s, string now)
    {
        {
            var cmd = statements.For("""
            INSERT INTO submissions (submission_id, correlation_id, media_id, path, modality, status, error, created_at)
            VALUES ($s, $c, $m, $path, $modality, $status, $error, $now) ON CONFLICT (submission_id) DO NOTHING
            """, tx);
            cmd.Parameters.AddWithValue("$s", s.SubmissionId.ToString());
            cmd.Parameters.AddWithValue("$c", s.CorrelationId.ToString());
            cmd.Parameters.AddWithValue("$m", (object?)s.MediaId ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$path", s.Path);
            cmd.Parameters.AddWithValue("$modality", (object?)s.Modality ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$status", s.Status.Name());
            cmd.Parameters.AddWithValue("$error", (object?)s.Error ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$now", now);
            if (cmd.ExecuteNonQuery() == 0) return;
        }
        foreach (var f in s.Flags)
        {
            var cmd = statements.For("""
                INSERT INTO flags (submission_id, media_id, kind, method, of_id, of_path, distance, threshold, score, label, action)
                VALUES ($s, $m, $kind, $method, $of, $ofPath, $d, $t, $score, $label, $action)
                """, tx);
            cmd.Parameters.AddWithValue("$s", s.SubmissionId.ToString());
            cmd.Parameters.AddWithValue("$m", (object?)s.MediaId ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$kind", f.Kind.Name());
            cmd.Parameters.AddWithValue("$method", f.Method);
            cmd.Parameters.AddWithValue("$of", (object?)f.Of ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$ofPath", (object?)f.OfPath ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$d", (object?)f.Distance ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$t", (object?)f.Threshold ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$score", (object?)f.Score ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$label", (object?)f.Label ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$action", (object?)f.Action ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        }
    }

    const string FlagColumns = "kind, method, of_id, of_path, distance, threshold, score, label, action";

    static CatalogFlag ReadFlag(SqliteDataReader r) => new(FlagKinds.Parse(r.GetString(0)), r.GetString(1),
        r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? null : r.GetDouble(4),
        r.IsDBNull(5) ? null : r.GetDouble(5), r.IsDBNull(6) ? null : r.GetDouble(6), r.IsDBNull(7) ? null : r.GetString(7), r.IsDBNull(8) ? null : r.GetString(8));

    public SubmissionRecord? FindSubmission(Guid submissionId)
    {
        lock (_gate)
        {
            SubmissionRecord s;
            {
                var cmd = _statements.For("SELECT correlation_id, media_id, path, modality, status, error FROM submissions WHERE submission_id = $s", Current);
                cmd.Parameters.AddWithValue("$s", submissionId.ToString());
                using var r = cmd.ExecuteReader();
                if (!r.Read()) return null;
                s = new SubmissionRecord(submissionId, Guid.Parse(r.GetString(0)), r.IsDBNull(1) ? null : r.GetString(1), r.GetString(2),
                    r.IsDBNull(3) ? null : r.GetString(3), SubmissionStatuses.Parse(r.GetString(4)), [], r.IsDBNull(5) ? null : r.GetString(5));
            }
            {
                var cmd = _statements.For($"SELECT {FlagColumns} FROM flags WHERE submission_id = $s ORDER BY id", Current);
                cmd.Parameters.AddWithValue("$s", submissionId.ToString());
                return s with { Flags = ReadAll(cmd, ReadFlag) };
            }
        }
    }

    public CatalogItem? Find(string id)
    {
        lock (_gate)
        {
            using var cmd = Command(_db, Current, $"SELECT {MediaColumns} FROM media WHERE id = $id");
            cmd.Parameters.AddWithValue("$id", id);
            using var r = cmd.ExecuteReader();
            return r.Read() ? ReadItem(r) : null;
        }
    }

    public IReadOnlyList<CatalogFlag> Flags(string mediaId)
    {
        lock (_gate)
        {
            using var cmd = Command(_db, Current, $"SELECT {FlagColumns} FROM flags WHERE media_id = $m ORDER BY id");
            cmd.Parameters.AddWithValue("$m", mediaId);
            return ReadAll(cmd, ReadFlag);
        }
    }

    public IEnumerable<(string MediaId, CatalogFlag Flag)> AllFlags(FlagKind? kind = null) =>
        Stream($"SELECT media_id, {FlagColumns} FROM flags WHERE media_id IS NOT NULL {(kind is null ? "" : "AND kind = $kind")} ORDER BY id",
            c => { if (kind is { } k) c.Parameters.AddWithValue("$kind", k.Name()); },
            r => (r.GetString(0), ReadFlagAt(r, 1)));

    public IReadOnlyList<(string MediaId, CatalogFlag Flag)> FlagsOf(string mediaId)
    {
        lock (_gate)
        {
            using var cmd = Command(_db, Current, $"SELECT media_id, {FlagColumns} FROM flags WHERE of_id = $m AND media_id IS NOT NULL AND media_id <> $m ORDER BY id");
            cmd.Parameters.AddWithValue("$m", mediaId);
            return ReadAll(cmd, r => (r.GetString(0), ReadFlagAt(r, 1)));
        }
    }

    /// <summary>A flag read from the <see cref="FlagColumns"/> starting at column <paramref name="o"/>.</summary>
    static CatalogFlag ReadFlagAt(SqliteDataReader r, int o) => new(FlagKinds.Parse(r.GetString(o)), r.GetString(o + 1),
        r.IsDBNull(o + 2) ? null : r.GetString(o + 2), r.IsDBNull(o + 3) ? null : r.GetString(o + 3), r.IsDBNull(o + 4) ? null : r.GetDouble(o + 4),
        r.IsDBNull(o + 5) ? null : r.GetDouble(o + 5), r.IsDBNull(o + 6) ? null : r.GetDouble(o + 6), r.IsDBNull(o + 7) ? null : r.GetString(o + 7), r.IsDBNull(o + 8) ? null : r.GetString(o + 8));

    public IEnumerable<CatalogItem> Items(long afterSeq = 0) =>
        Stream($"SELECT {MediaColumns} FROM media WHERE seq > $after ORDER BY seq", c => c.Parameters.AddWithValue("$after", afterSeq), ReadItem);

    public IEnumerable<(long Seq, CatalogEmbedding Embedding)> Embeddings(long afterSeq = 0, PackKey? pack = null) =>
        Stream($"SELECT seq, pack, space, semantic, vector FROM embeddings WHERE seq > $after {(pack is null ? "" : "AND pack = $pack")} ORDER BY seq, pack",
            c =>
            {
                c.Parameters.AddWithValue("$after", afterSeq);
                if (pack is { } p) c.Parameters.AddWithValue("$pack", p.ToString());
            },
            r => (r.GetInt64(0), new CatalogEmbedding(PackKey.Parse(r.GetString(1)), r.GetString(2), r.GetInt64(3) != 0,
                MemoryMarshal.Cast<byte, float>(((byte[])r[4]).AsSpan()).ToArray())));

    /// <summary>A streamed read on a connection of its own (a WAL snapshot), so writers go on meanwhile.</summary>
    IEnumerable<T> Stream<T>(string sql, Action<SqliteCommand> bind, Func<SqliteDataReader, T> read)
    {
        using var db = new SqliteConnection(_connectionString);
        db.Open();
        Execute(db, null, "PRAGMA busy_timeout = 30000;");
        using var cmd = Command(db, null, sql);
        bind(cmd);
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return read(r);
    }

    public long LastSeq
    {
        get { lock (_gate) return Convert.ToInt64(Scalar(_db, Current, "SELECT COALESCE(MAX(seq), 0) FROM media"), CultureInfo.InvariantCulture); }
    }

    public CatalogStats Stats()
    {
        lock (_gate)
        {
            Dictionary<string, long> Group(string sql)
            {
                using var cmd = Command(_db, Current, sql);
                using var r = cmd.ExecuteReader();
                var d = new Dictionary<string, long>();
                while (r.Read()) d[r.GetString(0)] = r.GetInt64(1);
                return d;
            }
            var byModality = Group("SELECT modality, COUNT(*) FROM media GROUP BY modality ORDER BY modality");
            return new CatalogStats(byModality.Values.Sum(), byModality,
                Group("SELECT pack, COUNT(*) FROM embeddings GROUP BY pack ORDER BY pack"),
                Group("SELECT kind, COUNT(*) FROM flags GROUP BY kind ORDER BY kind"));
        }
    }

    static SqliteCommand Command(SqliteConnection db, SqliteTransaction? tx, string sql)
    {
        var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        return cmd;
    }

    static void Execute(SqliteConnection db, SqliteTransaction? tx, string sql)
    {
        using var cmd = Command(db, tx, sql);
        cmd.ExecuteNonQuery();
    }

    static object? Scalar(SqliteConnection db, SqliteTransaction? tx, string sql)
    {
        using var cmd = Command(db, tx, sql);
        return cmd.ExecuteScalar();
    }

    static List<T> ReadAll<T>(SqliteCommand cmd, Func<SqliteDataReader, T> read)
    {
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read()) list.Add(read(r));
        return list;
    }

    public void Dispose()
    {
        _checkpointer.Dispose();
        lock (_gate)
        {
            _statements.Dispose();
            _db.Dispose();
        }
    }
}
