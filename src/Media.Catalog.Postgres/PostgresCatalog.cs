using System.Collections;
using System.Data;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Media.Domain;
using Npgsql;
using NpgsqlTypes;
using Pgvector;
using Pgvector.Npgsql;
using Polly;
using Polly.Retry;

namespace Media.Catalog.Postgres;

/// <summary>
/// The shared catalog: PostgreSQL (15 or later) with the pgvector extension (0.7 or later), which any number of
/// detect, query and API nodes open at once (<c>--catalog postgresql://user:pass@host:port/db</c>). Implements the same
/// contracts as the embedded <see cref="SqliteCatalog"/> (<see cref="IMediaCatalog"/>, <see cref="IHashBankStore"/>,
/// <see cref="IReprocessStore"/>) and <see cref="ISharedCatalog"/> for detection across nodes.
/// <list type="bullet">
/// <item>Schema: versioned migrations (<see cref="SchemaVersion"/>, table <c>catalog_schema</c>), each in one
/// transaction under an advisory lock, so nodes starting together migrate once; a database of a newer schema is refused.</item>
/// <item>Embeddings: <c>vector</c> columns; one HNSW index (<c>vector_cosine_ops</c>) per pack@version, a partial
/// expression index <c>((vector::vector(D))) WHERE pack = 'name@version'</c>, created when the pack is first written
/// (<see cref="NearestEmbeddings"/> searches through it).</item>
/// <item>PDQ hashes: <c>bit(256)</c> (most significant bit of the first byte first), so SQL can compare them with
/// <c>&lt;~&gt;</c>; detection matches them in the in-process multi-index each node keeps current (README: the measured choice).</item>
/// <item>Chromaprint fingerprints: raw, with their inverted-index keys (the top 20 bits of each 32-bit item, the keys
/// of <c>AudioFingerprintIndex</c>) in <c>chromaprint_keys</c>.</item>
/// <item>Sequences: assigned under a transaction-level advisory lock as the highest sequence plus one, so they are
/// gapless and strictly increasing in commit order: a reader that saw every row up to N misses no later commit.</item>
/// <item>Transient failures (a restarting server, a dropped connection) are retried with exponential back-off for up to
/// about a minute (Polly); every write is idempotent under retry (unique keys, <c>ON CONFLICT DO NOTHING</c>).</item>
/// </list>
/// Thread-safe: every call takes a pooled connection of its own.
/// </summary>
public sealed partial class PostgresCatalog : IMediaCatalog, IHashBankStore, IReprocessStore, ISharedCatalog
{
    /// <summary>The schema this build writes. 1: media, embeddings (pgvector), submissions, flags, Chromaprint keys, hash
    /// banks, reprocessing jobs, file stamps, pack aliases — the SQLite catalog's schema 4 in PostgreSQL.</summary>
    public const int SchemaVersion = 1;

    /// <summary>Advisory lock keys: (<see cref="LockSpace"/>, purpose), the two-integer form, so they show in <c>pg_locks</c> as classid/objid.</summary>
    const int LockSpace = 0x4D444941; // "MDIA"
    const int MigrationLock = 1, DetectionLockKey = 2, InsertLock = 3, VectorIndexLock = 4;
    /// <summary>AudioFingerprintIndex's key of a Chromaprint item: its top 20 bits.</summary>
    const int ChromaprintKeyShift = 12;

    readonly NpgsqlDataSource _data;
    readonly ResiliencePipeline _retry;
    /// <summary>Pack keys whose HNSW index exists, with their dimension.</summary>
    readonly Dictionary<string, int> _vectorIndexes = new(StringComparer.Ordinal);
    readonly Lock _vectorIndexGate = new();
    /// <summary>The connection holding the detection lock, or null.</summary>
    volatile HeldLock? _held;

    public string Location { get; }

    PostgresCatalog(string location, NpgsqlDataSource data, ResiliencePipeline retry)
    {
        Location = location;
        _data = data;
        _retry = retry;
    }

    /// <summary>How long transient failures are retried, in all, before a call fails.</summary>
    public static TimeSpan RetryBudget { get; } = TimeSpan.FromSeconds(60);

    /// <summary>Opens the catalog at a <c>postgresql://</c> URI, creating the pgvector extension and migrating the schema.</summary>
    /// <exception cref="CatalogException">Not a valid URI, the server cannot be reached, pgvector is not installed (or the user may
    /// not create it), or the database has a newer schema than this build.</exception>
    public static PostgresCatalog Open(string uri)
    {
        var location = PostgresLocation.Describe(uri);
        var connectionString = PostgresLocation.ConnectionString(uri);
        var retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(IsTransient),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(100),
            MaxDelay = TimeSpan.FromSeconds(4),
            MaxRetryAttempts = 24,
        }).AddTimeout(RetryBudget).Build();
        try
        {
            // Migrations (which create the vector extension) run on a data source of their own: a data source learns the
            // database's types on its first connection, and the catalog's must know pgvector's.
            using (var boot = NpgsqlDataSource.Create(connectionString)) new PostgresCatalog(location, boot, retry).Migrate();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or Polly.Timeout.TimeoutRejectedException)
        {
            throw new CatalogException($"{location}: {ex.Message}", ex);
        }
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.UseVector();
        return new PostgresCatalog(location, builder.Build(), retry);
    }

    /// <summary>Failures worth retrying: the server restarting or refusing connections for now, broken connections,
    /// serialisation failures and deadlocks.</summary>
    static bool IsTransient(NpgsqlException ex) => ex.IsTransient || ex is PostgresException
    {
        SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
            or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected
    };

    // ---- plumbing ----

    T Run<T>(Func<NpgsqlConnection, T> work) => _retry.Execute(() =>
    {
        using var c = _data.OpenConnection();
        return work(c);
    });

    void Run(Action<NpgsqlConnection> work) => Run(c => { work(c); return 0; });

    /// <summary>Runs <paramref name="work"/> in one transaction on a pooled connection, retrying the whole transaction on transient failures.</summary>
    T InTransaction<T>(Func<NpgsqlConnection, NpgsqlTransaction, T> work, IsolationLevel isolation = IsolationLevel.ReadCommitted) => Run(c =>
    {
        using var tx = c.BeginTransaction(isolation);
        var result = work(c, tx);
        tx.Commit();
        return result;
    });

    static NpgsqlCommand Command(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = new NpgsqlCommand(sql, c, tx);
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    static int Execute(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params (string, object?)[] parameters)
    {
        using var cmd = Command(c, tx, sql, parameters);
        return cmd.ExecuteNonQuery();
    }

    static object? Scalar(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params (string, object?)[] parameters)
    {
        using var cmd = Command(c, tx, sql, parameters);
        var v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }

    static List<T> ReadAll<T>(NpgsqlCommand cmd, Func<NpgsqlDataReader, T> read)
    {
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read()) list.Add(read(r));
        return list;
    }

    static void XactLock(NpgsqlConnection c, NpgsqlTransaction tx, int purpose) =>
        Execute(c, tx, "SELECT pg_advisory_xact_lock(@a, @b)", ("a", LockSpace), ("b", purpose));

    /// <summary>A streamed read on a connection of its own, held until the enumeration ends.</summary>
    IEnumerable<T> Stream<T>(string sql, (string, object?)[] parameters, Func<NpgsqlDataReader, T> read)
    {
        using var c = _retry.Execute(() => _data.OpenConnection());
        using var cmd = Command(c, null, sql, parameters);
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return read(r);
    }

    /// <summary>Time as PostgreSQL keeps it (microseconds), so what Insert returns equals what a read returns.</summary>
    static DateTimeOffset Now()
    {
        var t = DateTimeOffset.UtcNow;
        return new DateTimeOffset(t.Ticks - t.Ticks % 10, TimeSpan.Zero);
    }

    static DateTimeOffset Time(NpgsqlDataReader r, int i) => new(DateTime.SpecifyKind(r.GetDateTime(i), DateTimeKind.Utc));

    static DateTimeOffset? TimeOrNull(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : Time(r, i);

    static string? StringOrNull(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    static double? DoubleOrNull(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetDouble(i);

    /// <summary>A 32-byte PDQ hash as <c>bit(256)</c>: bit 0 is the most significant bit of byte 0 (the hex form's order).</summary>
    internal static BitArray ToBits(byte[] bytes)
    {
        var bits = new BitArray(bytes.Length * 8);
        for (var i = 0; i < bits.Length; i++) bits[i] = (bytes[i >> 3] & (0x80 >> (i & 7))) != 0;
        return bits;
    }

    /// <summary>The 32 bytes of a <c>bit(256)</c> PDQ hash read back (the inverse of the storage order above).</summary>
    public static byte[] FromBits(BitArray bits)
    {
        var bytes = new byte[bits.Length / 8];
        for (var i = 0; i < bits.Length; i++) if (bits[i]) bytes[i >> 3] |= (byte)(0x80 >> (i & 7));
        return bytes;
    }

    static byte[] ToBytes(uint[] fingerprint) => MemoryMarshal.AsBytes(fingerprint.AsSpan()).ToArray();

    static uint[] ToFingerprint(byte[] bytes) => MemoryMarshal.Cast<byte, uint>(bytes.AsSpan()).ToArray();

    // ---- schema ----

    void Migrate() => Run(c =>
    {
        using var tx = c.BeginTransaction();
        XactLock(c, tx, MigrationLock);
        try
        {
            Execute(c, tx, "CREATE EXTENSION IF NOT EXISTS vector");
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UndefinedFile or PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.FeatureNotSupported)
        {
            throw new CatalogException($"{Location}: the pgvector extension is needed ({ex.MessageText}): install pgvector on the server " +
                                       "(make pgvector, or the pgvector/pgvector image), and have a superuser run CREATE EXTENSION vector in the database", ex);
        }
        Execute(c, tx, "CREATE TABLE IF NOT EXISTS catalog_schema (one integer PRIMARY KEY CHECK (one = 1), version integer NOT NULL)");
        var version = Scalar(c, tx, "SELECT version FROM catalog_schema") is int v ? v : 0;
        if (version > SchemaVersion)
            throw new CatalogException($"{Location} has catalog schema version {version}; this build knows versions up to {SchemaVersion}. Use a newer media.");
        foreach (var (to, sql) in Migrations)
        {
            if (version >= to) continue;
            Execute(c, tx, sql);
            Execute(c, tx, "INSERT INTO catalog_schema (one, version) VALUES (1, @v) ON CONFLICT (one) DO UPDATE SET version = excluded.version", ("v", to));
            version = to;
        }
        tx.Commit();
    });

    /// <summary>Migrations in order: (version reached, SQL). All run in one transaction at open, under the migration lock.</summary>
    static readonly (int To, string Sql)[] Migrations =
    [
        (1, """
            CREATE TABLE media (
              seq bigint PRIMARY KEY, id text NOT NULL UNIQUE, path text NOT NULL, modality text NOT NULL, format text,
              size_bytes bigint NOT NULL, width integer NOT NULL, height integer NOT NULL, pdq bit(256), pdq_quality integer NOT NULL,
              pdq_dihedral bytea, duration double precision, chromaprint bytea, collection text, created_at timestamptz NOT NULL);
            CREATE INDEX media_modality ON media (modality);
            CREATE TABLE chromaprint_keys (key integer NOT NULL, seq bigint NOT NULL REFERENCES media (seq), PRIMARY KEY (key, seq));
            CREATE TABLE embeddings (
              seq bigint NOT NULL REFERENCES media (seq), pack text NOT NULL, space text NOT NULL, semantic boolean NOT NULL,
              dim integer NOT NULL, vector vector NOT NULL, PRIMARY KEY (seq, pack));
            CREATE INDEX embeddings_pack ON embeddings (pack, seq);
            CREATE TABLE vector_indexes (pack text PRIMARY KEY, dim integer NOT NULL, index_name text NOT NULL);
            CREATE TABLE submissions (
              submission_id uuid PRIMARY KEY, correlation_id uuid NOT NULL, media_id text, path text NOT NULL, modality text,
              status text NOT NULL, error text, created_at timestamptz NOT NULL);
            CREATE TABLE flags (
              id bigserial PRIMARY KEY, submission_id uuid NOT NULL REFERENCES submissions (submission_id), media_id text,
              kind text NOT NULL, method text NOT NULL, of_id text, of_path text, distance double precision, threshold double precision,
              score double precision, label text, action text);
            CREATE INDEX flags_media ON flags (media_id, id);
            CREATE INDEX flags_of ON flags (of_id, id);
            CREATE INDEX flags_kind ON flags (kind);
            CREATE INDEX flags_submission ON flags (submission_id, id);
            CREATE TABLE banks (
              id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, action text NOT NULL, enabled boolean NOT NULL,
              n_contents bigint NOT NULL DEFAULT 0, n_sha256 bigint NOT NULL DEFAULT 0, n_pdq bigint NOT NULL DEFAULT 0,
              n_chromaprint bigint NOT NULL DEFAULT 0, created_at timestamptz NOT NULL);
            CREATE TABLE bank_content (
              id bigint PRIMARY KEY, bank_id bigint NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
              sha256 bytea, pdq bytea, pdq_quality integer, chromaprint bytea, note text, created_at timestamptz NOT NULL,
              CHECK (sha256 IS NOT NULL OR pdq IS NOT NULL));
            CREATE INDEX bank_content_bank ON bank_content (bank_id);
            CREATE UNIQUE INDEX bank_content_sha256 ON bank_content (bank_id, sha256) WHERE sha256 IS NOT NULL;
            CREATE UNIQUE INDEX bank_content_pdq ON bank_content (bank_id, pdq) WHERE sha256 IS NULL;
            CREATE TABLE catalog_meta (key text PRIMARY KEY, value bigint NOT NULL);
            INSERT INTO catalog_meta (key, value) VALUES ('embedding_generation', 0), ('bank_generation', 0);
            CREATE TABLE file_stamps (
              path text PRIMARY KEY, size_bytes bigint NOT NULL, mtime_ticks bigint NOT NULL, media_id text NOT NULL, recorded_at timestamptz NOT NULL);
            CREATE TABLE jobs (
              id bigserial PRIMARY KEY, kind text NOT NULL, pack text NOT NULL, collection text, modalities text NOT NULL,
              status text NOT NULL, created_at timestamptz NOT NULL, heartbeat_at timestamptz NOT NULL, finished_at timestamptz);
            CREATE TABLE job_runs (
              job_id bigint NOT NULL REFERENCES jobs (id), run integer NOT NULL, started_at timestamptz NOT NULL, finished_at timestamptz,
              pending bigint NOT NULL, processed bigint NOT NULL, missing bigint NOT NULL, status text NOT NULL, PRIMARY KEY (job_id, run));
            CREATE TABLE job_missing (
              job_id bigint NOT NULL REFERENCES jobs (id), seq bigint NOT NULL, media_id text NOT NULL, path text NOT NULL,
              reason text NOT NULL, at timestamptz NOT NULL, PRIMARY KEY (job_id, seq));
            CREATE TABLE pack_aliases (name text PRIMARY KEY, version text NOT NULL, activated_at timestamptz NOT NULL);
            """),
    ];

    // ---- the detection lock (ISharedCatalog) ----

    sealed class HeldLock(NpgsqlConnection connection) : IDisposable
    {
        public NpgsqlConnection Connection { get; } = connection;
        public Action? Released { get; set; }

        public void Dispose()
        {
            Released?.Invoke();
            try { Execute(Connection, null, "SELECT pg_advisory_unlock(@a, @b)", ("a", LockSpace), ("b", DetectionLockKey)); }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException) { } // the connection is gone: the server released the lock with it
            Connection.Dispose();
        }
    }

    /// <summary>
    /// A session-level advisory lock on a connection of its own. While it is held, this object's <see cref="Insert"/>s
    /// (from any thread: the detector that holds it may continue on another) run on that same connection, so a lock
    /// lost with its connection can never be followed by a commit: the insert fails with
    /// <see cref="DetectionLockLostException"/> instead.
    /// </summary>
    public IDisposable LockDetection()
    {
        var connection = _retry.Execute(() =>
        {
            var c = _data.OpenConnection();
            try
            {
                Execute(c, null, "SELECT pg_advisory_lock(@a, @b)", ("a", LockSpace), ("b", DetectionLockKey));
                return c;
            }
            catch
            {
                c.Dispose();
                throw;
            }
        });
        var held = new HeldLock(connection);
        held.Released = () => Interlocked.CompareExchange(ref _held, null, held);
        if (Interlocked.CompareExchange(ref _held, held, null) is not null)
        {
            held.Released = null;
            held.Dispose();
            throw new InvalidOperationException("the detection lock is already held by this catalog object (it is not reentrant)");
        }
        return held;
    }

    // ---- IMediaCatalog ----

    const string MediaColumns = "seq, id, path, modality, format, size_bytes, width, height, pdq, pdq_quality, pdq_dihedral, duration, chromaprint, collection, created_at";

    static CatalogItem ReadItem(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), StringOrNull(r, 4), r.GetInt64(5), r.GetInt32(6), r.GetInt32(7),
        r.IsDBNull(8) ? null : FromBits(r.GetFieldValue<BitArray>(8)), r.GetInt32(9), r.IsDBNull(10) ? null : (byte[])r[10], DoubleOrNull(r, 11),
        r.IsDBNull(12) ? null : ToFingerprint((byte[])r[12]), StringOrNull(r, 13), Time(r, 14));

    public CatalogItem? Insert(CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission)
    {
        if (submission.Status != SubmissionStatus.Indexed || submission.MediaId != item.Id)
            throw new ArgumentException($"an insert records the indexed submission of its own item; got {submission.Status.Name()} of {submission.MediaId ?? "nothing"} for {item.Id}", nameof(submission));
        if (item.Pdq is { Length: not 32 }) throw new ArgumentException($"a PDQ hash is 32 bytes, got {item.Pdq.Length}", nameof(item));
        foreach (var e in embeddings) EnsureVectorIndex(e.Pack, e.Vector.Length);
        var now = Now();
        if (_held is { } held)
        {
            // Under the detection lock: on the lock's own connection (one command at a time), no retry on another one.
            try
            {
                lock (held) return InsertOn(held.Connection, item, embeddings, submission, now);
            }
            catch (NpgsqlException ex) when (IsTransient(ex) || held.Connection.FullState != ConnectionState.Open)
            {
                throw new DetectionLockLostException($"{Location}: the detection lock's connection failed before the insert of {item.Id} committed ({ex.Message}); nothing was written");
            }
        }
        return Run(c => InsertOn(c, item, embeddings, submission, now));
    }

    static CatalogItem? InsertOn(NpgsqlConnection c, CatalogItem item, IReadOnlyList<CatalogEmbedding> embeddings, SubmissionRecord submission, DateTimeOffset now)
    {
        using var tx = c.BeginTransaction();
        XactLock(c, tx, InsertLock); // sequences in commit order: the next one is taken only after this transaction ends
        long seq;
        using (var cmd = Command(c, tx, """
            INSERT INTO media (seq, id, path, modality, format, size_bytes, width, height, pdq, pdq_quality, pdq_dihedral, duration, chromaprint, collection, created_at)
            SELECT COALESCE(MAX(seq), 0) + 1, @id, @path, @modality, @format::text, @size, @w, @h, @pdq, @q, @dih::bytea, @duration::double precision, @fp::bytea, @collection::text, @now FROM media
            ON CONFLICT (id) DO NOTHING RETURNING seq
            """, ("id", item.Id), ("path", item.Path), ("modality", item.Modality), ("format", item.Format), ("size", item.SizeBytes),
            ("w", item.Width), ("h", item.Height), ("q", item.PdqQuality), ("dih", item.PdqDihedral), ("duration", item.DurationSeconds),
            ("fp", item.Chromaprint is null ? null : ToBytes(item.Chromaprint)), ("collection", item.Collection), ("now", now)))
        {
            cmd.Parameters.Add(new NpgsqlParameter("pdq", NpgsqlDbType.Bit) { Value = item.Pdq is null ? DBNull.Value : ToBits(item.Pdq) });
            if (cmd.ExecuteScalar() is not long assigned)
            {
                tx.Rollback(); // already catalogued: nothing written
                return null;
            }
            seq = assigned;
        }
        if (item.Chromaprint is { Length: > 0 } fp)
            Execute(c, tx, "INSERT INTO chromaprint_keys (key, seq) SELECT DISTINCT k, @seq FROM unnest(@keys) AS k",
                ("seq", seq), ("keys", fp.Select(v => (int)(v >> ChromaprintKeyShift)).ToArray()));
        foreach (var e in embeddings)
            Execute(c, tx, "INSERT INTO embeddings (seq, pack, space, semantic, dim, vector) VALUES (@seq, @pack, @space, @semantic, @dim, @vector)",
                ("seq", seq), ("pack", e.Pack.ToString()), ("space", e.Space), ("semantic", e.Semantic), ("dim", e.Vector.Length), ("vector", new Vector(e.Vector)));
        WriteSubmission(c, tx, submission, now);
        tx.Commit();
        return item with { Seq = seq, CreatedAt = now };
    }

    /// <summary>
    /// The HNSW index (<c>vector_cosine_ops</c>) of a pack@version: a partial expression index over its rows, created once
    /// (outside the insert transactions, so writers never wait on a build of an empty index). A pack@version has one dimension.
    /// </summary>
    void EnsureVectorIndex(PackKey pack, int dim)
    {
        var key = pack.ToString();
        lock (_vectorIndexGate)
            if (_vectorIndexes.TryGetValue(key, out var known))
            {
                if (known != dim) throw new ArgumentException($"{key} has {known}-dimensional embeddings in the catalog; got {dim}");
                return;
            }
        var name = "embeddings_hnsw_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
        Run(c =>
        {
            using var tx = c.BeginTransaction();
            XactLock(c, tx, VectorIndexLock);
            var stored = Scalar(c, tx, "SELECT dim FROM vector_indexes WHERE pack = @p", ("p", key));
            if (stored is int d && d != dim)
                throw new ArgumentException($"{key} has {d}-dimensional embeddings in the catalog; got {dim}");
            if (stored is null)
            {
                // Identifiers and the pack key are not parameters in DDL: the name is hex, the key a quoted literal.
                Execute(c, tx, $"CREATE INDEX IF NOT EXISTS {name} ON embeddings USING hnsw ((vector::vector({dim})) vector_cosine_ops) WHERE pack = {Literal(key)}");
                Execute(c, tx, "INSERT INTO vector_indexes (pack, dim, index_name) VALUES (@p, @d, @n)", ("p", key), ("d", dim), ("n", name));
            }
            tx.Commit();
        });
        lock (_vectorIndexGate) _vectorIndexes[key] = dim;
    }

    static string Literal(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// The <paramref name="k"/> embeddings of <paramref name="pack"/> nearest to <paramref name="query"/> by cosine distance,
    /// through pgvector's HNSW index of the pack (approximate; <c>hnsw.ef_search</c> = <paramref name="efSearch"/>), nearest first.
    /// </summary>
    /// <returns>(sequence, cosine distance) pairs; empty when the pack has no embeddings.</returns>
    public IReadOnlyList<(long Seq, double Distance)> NearestEmbeddings(PackKey pack, float[] query, int k, int efSearch = 64) => Run(c =>
    {
        if (Scalar(c, null, "SELECT dim FROM vector_indexes WHERE pack = @p", ("p", pack.ToString())) is not int dim) return (IReadOnlyList<(long, double)>)[];
        if (dim != query.Length) throw new ArgumentException($"{pack} embeddings have {dim} dimensions; the query has {query.Length}", nameof(query));
        using var tx = c.BeginTransaction();
        Execute(c, tx, $"SET LOCAL hnsw.ef_search = {Math.Clamp(efSearch, 1, 1000)}");
        using var cmd = Command(c, tx, $"SELECT seq, (vector::vector({dim})) <=> @q FROM embeddings WHERE pack = @p ORDER BY (vector::vector({dim})) <=> @q LIMIT @k",
            ("q", new Vector(query)), ("p", pack.ToString()), ("k", k));
        var hits = ReadAll(cmd, r => (r.GetInt64(0), r.GetDouble(1)));
        tx.Commit();
        return (IReadOnlyList<(long, double)>)hits;
    });

    /// <summary>Each write of the group commits at once (<see cref="ImmediateWriteGroup"/>): grouping the inserts made
    /// under the detection lock on its connection is not implemented yet.</summary>
    public ICatalogWriteGroup BeginWriteGroup() => new ImmediateWriteGroup(this);

    public void RecordSubmission(SubmissionRecord submission) => Run(c =>
    {
        using var tx = c.BeginTransaction();
        WriteSubmission(c, tx, submission, Now());
        tx.Commit();
    });

    /// <summary>Writes a submission row and its flags unless the submission id is already recorded.</summary>
    static void WriteSubmission(NpgsqlConnection c, NpgsqlTransaction tx, SubmissionRecord s, DateTimeOffset now)
    {
        if (Execute(c, tx, """
            INSERT INTO submissions (submission_id, correlation_id, media_id, path, modality, status, error, created_at)
            VALUES (@s, @c, @m, @path, @modality, @status, @error, @now) ON CONFLICT (submission_id) DO NOTHING
            """, ("s", s.SubmissionId), ("c", s.CorrelationId), ("m", s.MediaId), ("path", s.Path), ("modality", s.Modality),
            ("status", s.Status.Name()), ("error", s.Error), ("now", now)) == 0) return;
        foreach (var f in s.Flags)
            Execute(c, tx, """
                INSERT INTO flags (submission_id, media_id, kind, method, of_id, of_path, distance, threshold, score, label, action)
                VALUES (@s, @m, @kind, @method, @of, @ofPath, @d, @t, @score, @label, @action)
                """, ("s", s.SubmissionId), ("m", s.MediaId), ("kind", f.Kind.Name()), ("method", f.Method), ("of", f.Of), ("ofPath", f.OfPath),
                ("d", f.Distance), ("t", f.Threshold), ("score", f.Score), ("label", f.Label), ("action", f.Action));
    }

    const string FlagColumns = "kind, method, of_id, of_path, distance, threshold, score, label, action";

    static CatalogFlag ReadFlagAt(NpgsqlDataReader r, int o) => new(FlagKinds.Parse(r.GetString(o)), r.GetString(o + 1),
        StringOrNull(r, o + 2), StringOrNull(r, o + 3), DoubleOrNull(r, o + 4), DoubleOrNull(r, o + 5), DoubleOrNull(r, o + 6),
        StringOrNull(r, o + 7), StringOrNull(r, o + 8));

    public SubmissionRecord? FindSubmission(Guid submissionId) => Run(c =>
    {
        SubmissionRecord s;
        using (var cmd = Command(c, null, "SELECT correlation_id, media_id, path, modality, status, error FROM submissions WHERE submission_id = @s", ("s", submissionId)))
        using (var r = cmd.ExecuteReader())
        {
            if (!r.Read()) return null;
            s = new SubmissionRecord(submissionId, r.GetGuid(0), StringOrNull(r, 1), r.GetString(2), StringOrNull(r, 3),
                SubmissionStatuses.Parse(r.GetString(4)), [], StringOrNull(r, 5));
        }
        using var flags = Command(c, null, $"SELECT {FlagColumns} FROM flags WHERE submission_id = @s ORDER BY id", ("s", submissionId));
        return s with { Flags = ReadAll(flags, r => ReadFlagAt(r, 0)) };
    });

    public CatalogItem? Find(string id) => Run(c =>
    {
        using var cmd = Command(c, null, $"SELECT {MediaColumns} FROM media WHERE id = @id", ("id", id));
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadItem(r) : null;
    });

    public IEnumerable<CatalogItem> Items(long afterSeq = 0) =>
        Stream($"SELECT {MediaColumns} FROM media WHERE seq > @after ORDER BY seq", [("after", afterSeq)], ReadItem);

    public IEnumerable<(long Seq, CatalogEmbedding Embedding)> Embeddings(long afterSeq = 0, PackKey? pack = null) =>
        Stream($"SELECT seq, pack, space, semantic, vector FROM embeddings WHERE seq > @after {(pack is null ? "" : "AND pack = @pack")} ORDER BY seq, pack",
            [("after", afterSeq), ("pack", pack?.ToString())],
            r => (r.GetInt64(0), new CatalogEmbedding(PackKey.Parse(r.GetString(1)), r.GetString(2), r.GetBoolean(3), r.GetFieldValue<Vector>(4).ToArray())));

    public IReadOnlyList<CatalogFlag> Flags(string mediaId) => Run(c =>
    {
        using var cmd = Command(c, null, $"SELECT {FlagColumns} FROM flags WHERE media_id = @m ORDER BY id", ("m", mediaId));
        return (IReadOnlyList<CatalogFlag>)ReadAll(cmd, r => ReadFlagAt(r, 0));
    });

    public IEnumerable<(string MediaId, CatalogFlag Flag)> AllFlags(FlagKind? kind = null) =>
        Stream($"SELECT media_id, {FlagColumns} FROM flags WHERE media_id IS NOT NULL {(kind is null ? "" : "AND kind = @kind")} ORDER BY id",
            [("kind", kind?.Name())], r => (r.GetString(0), ReadFlagAt(r, 1)));

    public IReadOnlyList<(string MediaId, CatalogFlag Flag)> FlagsOf(string mediaId) => Run(c =>
    {
        using var cmd = Command(c, null, $"SELECT media_id, {FlagColumns} FROM flags WHERE of_id = @m AND media_id IS NOT NULL AND media_id <> @m ORDER BY id", ("m", mediaId));
        return (IReadOnlyList<(string, CatalogFlag)>)ReadAll(cmd, r => (r.GetString(0), ReadFlagAt(r, 1)));
    });

    public long LastSeq => Run(c => (long)Scalar(c, null, "SELECT COALESCE(MAX(seq), 0) FROM media")!);

    public CatalogStats Stats() => InTransaction((c, tx) =>
    {
        Dictionary<string, long> Group(string sql)
        {
            using var cmd = Command(c, tx, sql);
            using var r = cmd.ExecuteReader();
            var d = new Dictionary<string, long>();
            while (r.Read()) d[r.GetString(0)] = r.GetInt64(1);
            return d;
        }
        var byModality = Group("SELECT modality, COUNT(*) FROM media GROUP BY modality ORDER BY modality");
        return new CatalogStats(byModality.Values.Sum(), byModality,
            Group("SELECT pack, COUNT(*) FROM embeddings GROUP BY pack ORDER BY pack"),
            Group("SELECT kind, COUNT(*) FROM flags GROUP BY kind ORDER BY kind"));
    }, IsolationLevel.RepeatableRead);

    public void Dispose() => _data.Dispose();
}
