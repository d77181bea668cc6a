using System.Runtime.InteropServices;
using System.Text.Json;
using Media.Contracts.V1;
using Microsoft.Data.Sqlite;

namespace Media.Index;

/// <summary>A catalogued media item. <see cref="Id"/> is the SHA-256 of its bytes.</summary>
/// <param name="Id">SHA-256 of the bytes.</param>
/// <param name="Path">First path seen.</param>
/// <param name="Modality"><c>image</c> or <c>audio</c>.</param>
/// <param name="Format">Sniffed container format.</param>
/// <param name="SizeBytes">Encoded size.</param>
/// <param name="Width">Pixels (images).</param>
/// <param name="Height">Pixels (images).</param>
/// <param name="Pdq">PDQ hash, hex (images).</param>
/// <param name="PdqQuality">PDQ quality 0–100 (images).</param>
/// <param name="Collection">Collection tag.</param>
/// <param name="CreatedAt">When it was catalogued.</param>
/// <param name="PdqDihedral">The 8 dihedral PDQ hashes (hex), or null.</param>
/// <param name="DurationSeconds">Length in seconds (audio).</param>
/// <param name="Chromaprint">Raw Chromaprint fingerprint (audio).</param>
public sealed record MediaRecord(
    string Id, string Path, string Modality, string? Format, long SizeBytes, int Width, int Height,
    string? Pdq, int PdqQuality, string? Collection = null, DateTimeOffset? CreatedAt = null, string[]? PdqDihedral = null,
    double? DurationSeconds = null, uint[]? Chromaprint = null);

/// <summary>An embedding as stored: pack key (<c>name@version</c>), space and unit vector.</summary>
public sealed record StoredEmbedding(string PackKey, string Space, bool Semantic, float[] Vector);

/// <summary>Counts for <c>media stats</c>.</summary>
public sealed record CatalogStats(long Items, IReadOnlyDictionary<string, long> ByModality, IReadOnlyDictionary<string, long> Packs, IReadOnlyDictionary<string, long> Flags);

/// <summary>
/// The catalog: SQLite in WAL mode under the data folder (<c>catalog.db</c>). Media rows (id = SHA-256), embeddings per
/// (media, pack@version) as float32 blobs, flags, and the result of every submission (so a redelivered submission
/// gets the same answer and no second row). Writes are transactional. Thread-safe (one connection, serialised).
/// </summary>
public sealed class MediaCatalog : IDisposable
{
    const int SchemaVersion = 1;
    readonly SqliteConnection _db;
    readonly Lock _gate = new();

    public string Path { get; }

    MediaCatalog(string path, SqliteConnection db) { Path = path; _db = db; }

    /// <summary>Opens (creating if needed) <c>catalog.db</c> in <paramref name="dataDirectory"/>.</summary>
    public static MediaCatalog Open(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = System.IO.Path.Combine(System.IO.Path.GetFullPath(dataDirectory), "catalog.db");
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        var catalog = new MediaCatalog(path, db);
        catalog.Execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = NORMAL;
            PRAGMA busy_timeout = 10000;
            PRAGMA foreign_keys = ON;
            CREATE TABLE IF NOT EXISTS media (
              id TEXT PRIMARY KEY, path TEXT NOT NULL, modality TEXT NOT NULL, format TEXT, size_bytes INTEGER NOT NULL,
              width INTEGER NOT NULL, height INTEGER NOT NULL, pdq BLOB, pdq_quality INTEGER NOT NULL, pdq_dihedral BLOB,
              duration REAL, chromaprint BLOB,
              collection TEXT, created_at TEXT NOT NULL, seq INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS media_seq ON media(seq);
            CREATE TABLE IF NOT EXISTS embeddings (
              media_id TEXT NOT NULL REFERENCES media(id), pack TEXT NOT NULL, space TEXT NOT NULL, semantic INTEGER NOT NULL,
              dim INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (media_id, pack));
            CREATE TABLE IF NOT EXISTS flags (
              id INTEGER PRIMARY KEY AUTOINCREMENT, media_id TEXT NOT NULL, kind TEXT NOT NULL, method TEXT NOT NULL,
              of_id TEXT, of_path TEXT, distance REAL, threshold REAL, created_at TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS flags_media ON flags(media_id);
            CREATE TABLE IF NOT EXISTS submissions (
              submission_id TEXT PRIMARY KEY, result TEXT NOT NULL, created_at TEXT NOT NULL);
            """);
        catalog.Execute($"PRAGMA user_version = {SchemaVersion};");
        return catalog;
    }

    void Execute(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>The record with this id, or null.</summary>
    public MediaRecord? Find(string id)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = $"SELECT {MediaColumns} FROM media WHERE id = $id";
            cmd.Parameters.AddWithValue("$id", id);
            using var r = cmd.ExecuteReader();
            return r.Read() ? ReadMedia(r) : null;
        }
    }

    const string MediaColumns = "id, path, modality, format, size_bytes, width, height, pdq, pdq_quality, collection, created_at, pdq_dihedral, duration, chromaprint";

    static MediaRecord ReadMedia(SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetInt64(4), r.GetInt32(5), r.GetInt32(6),
        r.IsDBNull(7) ? null : Convert.ToHexStringLower((byte[])r[7]), r.GetInt32(8), r.IsDBNull(9) ? null : r.GetString(9),
        DateTimeOffset.Parse(r.GetString(10)),
        r.IsDBNull(11) ? null : ((byte[])r[11]).Chunk(32).Select(Convert.ToHexStringLower).ToArray(),
        r.IsDBNull(12) ? null : r.GetDouble(12),
        r.IsDBNull(13) ? null : MemoryMarshal.Cast<byte, uint>(((byte[])r[13]).AsSpan()).ToArray());

    /// <summary>
    /// Inserts a media row with its embeddings and flags, and records the submission's result, in one transaction.
    /// Returns false (and writes nothing) when the id already exists.
    /// </summary>
    public bool Insert(MediaRecord media, IReadOnlyList<StoredEmbedding> embeddings, IReadOnlyList<MediaFlag> flags, Guid submissionId, MediaProcessed result)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            using (var exists = _db.CreateCommand())
            {
                exists.Transaction = tx;
                exists.CommandText = "SELECT 1 FROM media WHERE id = $id";
                exists.Parameters.AddWithValue("$id", media.Id);
                if (exists.ExecuteScalar() is not null) return false;
            }
            var now = DateTimeOffset.UtcNow.ToString("O");
            using (var cmd = _db.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = """
                    INSERT INTO media (id, path, modality, format, size_bytes, width, height, pdq, pdq_quality, pdq_dihedral, duration, chromaprint, collection, created_at, seq)
                    VALUES ($id, $path, $modality, $format, $size, $w, $h, $pdq, $q, $dih, $duration, $fp, $collection, $now, (SELECT COALESCE(MAX(seq), 0) + 1 FROM media))
                    """;
                cmd.Parameters.AddWithValue("$id", media.Id);
                cmd.Parameters.AddWithValue("$path", media.Path);
                cmd.Parameters.AddWithValue("$modality", media.Modality);
                cmd.Parameters.AddWithValue("$format", (object?)media.Format ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$size", media.SizeBytes);
                cmd.Parameters.AddWithValue("$w", media.Width);
                cmd.Parameters.AddWithValue("$h", media.Height);
                cmd.Parameters.AddWithValue("$pdq", media.Pdq is null ? DBNull.Value : Convert.FromHexString(media.Pdq));
                cmd.Parameters.AddWithValue("$q", media.PdqQuality);
                cmd.Parameters.AddWithValue("$duration", (object?)media.DurationSeconds ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$fp", media.Chromaprint is null ? DBNull.Value : MemoryMarshal.AsBytes(media.Chromaprint.AsSpan()).ToArray());
                cmd.Parameters.AddWithValue("$dih", media.PdqDihedral is null ? DBNull.Value : Convert.FromHexString(string.Concat(media.PdqDihedral)));
                cmd.Parameters.AddWithValue("$collection", (object?)media.Collection ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$now", now);
                cmd.ExecuteNonQuery();
            }
            foreach (var e in embeddings)
            {
                using var cmd = _db.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO embeddings (media_id, pack, space, semantic, dim, vector) VALUES ($id, $pack, $space, $semantic, $dim, $vector)";
                cmd.Parameters.AddWithValue("$id", media.Id);
                cmd.Parameters.AddWithValue("$pack", e.PackKey);
                cmd.Parameters.AddWithValue("$space", e.Space);
                cmd.Parameters.AddWithValue("$semantic", e.Semantic ? 1 : 0);
                cmd.Parameters.AddWithValue("$dim", e.Vector.Length);
                cmd.Parameters.AddWithValue("$vector", MemoryMarshal.AsBytes(e.Vector.AsSpan()).ToArray());
                cmd.ExecuteNonQuery();
            }
            InsertFlags(tx, media.Id, flags, now);
            InsertSubmission(tx, submissionId, result, now);
            tx.Commit();
            return true;
        }
    }

    /// <summary>Records the result of a submission that added no media row (an exact duplicate or a rejection), with its flags.</summary>
    public void RecordResult(Guid submissionId, MediaProcessed result)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            if (result.MediaId is not null && result.Status == MediaStatus.Duplicate)
                InsertFlags(tx, result.MediaId, result.Flags, DateTimeOffset.UtcNow.ToString("O"));
            InsertSubmission(tx, submissionId, result, DateTimeOffset.UtcNow.ToString("O"));
            tx.Commit();
        }
    }

    void InsertFlags(SqliteTransaction tx, string mediaId, IReadOnlyList<MediaFlag> flags, string now)
    {
        foreach (var f in flags)
        {
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO flags (media_id, kind, method, of_id, of_path, distance, threshold, created_at) VALUES ($id, $kind, $method, $of, $ofPath, $d, $t, $now)";
            cmd.Parameters.AddWithValue("$id", mediaId);
            cmd.Parameters.AddWithValue("$kind", f.Kind);
            cmd.Parameters.AddWithValue("$method", f.Method);
            cmd.Parameters.AddWithValue("$of", (object?)f.Of ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$ofPath", (object?)f.OfPath ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$d", (object?)f.Distance ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$t", (object?)f.Threshold ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$now", now);
            cmd.ExecuteNonQuery();
        }
    }

    void InsertSubmission(SqliteTransaction tx, Guid submissionId, MediaProcessed result, string now)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT OR IGNORE INTO submissions (submission_id, result, created_at) VALUES ($s, $r, $now)";
        cmd.Parameters.AddWithValue("$s", submissionId.ToString());
        cmd.Parameters.AddWithValue("$r", JsonSerializer.Serialize(result));
        cmd.Parameters.AddWithValue("$now", now);
        cmd.ExecuteNonQuery();
    }

    /// <summary>The stored result of an earlier processing of this submission, or null.</summary>
    public MediaProcessed? FindResult(Guid submissionId)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT result FROM submissions WHERE submission_id = $s";
            cmd.Parameters.AddWithValue("$s", submissionId.ToString());
            return cmd.ExecuteScalar() is string json ? JsonSerializer.Deserialize<MediaProcessed>(json) : null;
        }
    }

    /// <summary>Every media row in insertion order, for rebuilding the in-memory indexes.</summary>
    public List<MediaRecord> AllMedia()
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = $"SELECT {MediaColumns} FROM media ORDER BY seq";
            using var r = cmd.ExecuteReader();
            var list = new List<MediaRecord>();
            while (r.Read()) list.Add(ReadMedia(r));
            return list;
        }
    }

    /// <summary>Every stored embedding in media insertion order: (media id, embedding).</summary>
    public List<(string MediaId, StoredEmbedding Embedding)> AllEmbeddings()
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT e.media_id, e.pack, e.space, e.semantic, e.vector FROM embeddings e JOIN media m ON m.id = e.media_id ORDER BY m.seq";
            using var r = cmd.ExecuteReader();
            var list = new List<(string, StoredEmbedding)>();
            while (r.Read())
            {
                var vector = MemoryMarshal.Cast<byte, float>(((byte[])r[4]).AsSpan()).ToArray();
                list.Add((r.GetString(0), new StoredEmbedding(r.GetString(1), r.GetString(2), r.GetInt64(3) != 0, vector)));
            }
            return list;
        }
    }

    /// <summary>Counts of items, items per modality, embeddings per pack and flags per kind.</summary>
    public CatalogStats Stats()
    {
        lock (_gate)
        {
            Dictionary<string, long> Group(string sql)
            {
                using var cmd = _db.CreateCommand();
                cmd.CommandText = sql;
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

    public void Dispose()
    {
        lock (_gate) _db.Dispose();
    }
}
