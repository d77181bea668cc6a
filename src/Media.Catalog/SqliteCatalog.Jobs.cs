using System.Globalization;
using System.Runtime.InteropServices;
using Media.Domain;
using Microsoft.Data.Sqlite;

namespace Media.Catalog;

/// <summary>
/// Reprocessing in the embedded catalog (<see cref="IReprocessStore"/>, schema version 4): <c>file_stamps</c> (what
/// ingest catalogued, by path, size and mtime), <c>jobs</c>, <c>job_runs</c> and <c>job_missing</c> (reprocessing jobs,
/// their runs and the items they could not re-read), <c>pack_aliases</c> (the active version of each pack name) and
/// <c>catalog_meta</c> (the embedding generation). Progress itself is the <c>embeddings</c> table: its key
/// <c>(seq, pack)</c> allows one embedding per item and pack@version, so a re-run never doubles a row.
/// </summary>
public sealed partial class SqliteCatalog : IReprocessStore
{
    const string Version4Tables = """
        CREATE TABLE IF NOT EXISTS file_stamps (
          path TEXT PRIMARY KEY, size_bytes INTEGER NOT NULL, mtime_ticks INTEGER NOT NULL, media_id TEXT NOT NULL, recorded_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS jobs (
          id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, pack TEXT NOT NULL, collection TEXT, modalities TEXT NOT NULL,
          status TEXT NOT NULL, created_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL, finished_at TEXT);
        CREATE TABLE IF NOT EXISTS job_runs (
          job_id INTEGER NOT NULL REFERENCES jobs(id), run INTEGER NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
          pending INTEGER NOT NULL, processed INTEGER NOT NULL, missing INTEGER NOT NULL, status TEXT NOT NULL, PRIMARY KEY (job_id, run));
        CREATE TABLE IF NOT EXISTS job_missing (
          job_id INTEGER NOT NULL REFERENCES jobs(id), seq INTEGER NOT NULL, media_id TEXT NOT NULL, path TEXT NOT NULL,
          reason TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (job_id, seq));
        CREATE TABLE IF NOT EXISTS pack_aliases (name TEXT PRIMARY KEY, version TEXT NOT NULL, activated_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS catalog_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT OR IGNORE INTO catalog_meta (key, value) VALUES ('embedding_generation', 0);
        """;

    /// <summary>Version 4: the reprocessing tables, empty. Nothing of version 3 changes.</summary>
    static void CreateVersion4(SqliteConnection db, SqliteTransaction tx) => Execute(db, tx, Version4Tables);

    static string Now() => DateTimeOffset.UtcNow.ToString("O");
    static DateTimeOffset Time(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture);

    public long EmbeddingGeneration
    {
        get { lock (_gate) return Convert.ToInt64(_statements.For("SELECT value FROM catalog_meta WHERE key = 'embedding_generation'", Current).ExecuteScalar(), CultureInfo.InvariantCulture); }
    }

    static void BumpEmbeddingGeneration(SqliteConnection db, SqliteTransaction tx) =>
        Execute(db, tx, "UPDATE catalog_meta SET value = value + 1 WHERE key = 'embedding_generation'");

    public bool AddEmbedding(long seq, CatalogEmbedding embedding)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            var exists = _statements.For("SELECT 1 FROM media WHERE seq = $seq", tx);
            exists.Parameters.AddWithValue("$seq", seq);
            if (exists.ExecuteScalar() is null) throw new ArgumentException($"no catalogued item has sequence {seq}", nameof(seq));
            var cmd = _statements.For("""
                INSERT INTO embeddings (seq, pack, space, semantic, dim, vector) VALUES ($seq, $pack, $space, $semantic, $dim, $vector)
                ON CONFLICT (seq, pack) DO NOTHING
                """, tx);
            cmd.Parameters.AddWithValue("$seq", seq);
            cmd.Parameters.AddWithValue("$pack", embedding.Pack.ToString());
            cmd.Parameters.AddWithValue("$space", embedding.Space);
            cmd.Parameters.AddWithValue("$semantic", embedding.Semantic ? 1 : 0);
            cmd.Parameters.AddWithValue("$dim", embedding.Vector.Length);
            cmd.Parameters.AddWithValue("$vector", MemoryMarshal.AsBytes(embedding.Vector.AsSpan()).ToArray());
            if (cmd.ExecuteNonQuery() == 0) return false; // rolled back: one embedding per item and pack@version
            BumpEmbeddingGeneration(_db, tx);
            tx.Commit();
            _checkpointer.Committed();
            return true;
        }
    }

    public FileStamp? FindFileStamp(string path)
    {
        lock (_gate)
        {
            var cmd = _statements.For("SELECT size_bytes, mtime_ticks, media_id FROM file_stamps WHERE path = $p", Current);
            cmd.Parameters.AddWithValue("$p", path);
            using var r = cmd.ExecuteReader();
            return r.Read() ? new FileStamp(path, r.GetInt64(0), r.GetInt64(1), r.GetString(2)) : null;
        }
    }

    public void RecordFileStamps(IReadOnlyList<FileStamp> stamps)
    {
        if (stamps.Count == 0) return;
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            var now = Now();
            foreach (var s in stamps)
            {
                var cmd = _statements.For("""
                    INSERT INTO file_stamps (path, size_bytes, mtime_ticks, media_id, recorded_at) VALUES ($p, $s, $m, $id, $now)
                    ON CONFLICT (path) DO UPDATE SET size_bytes = excluded.size_bytes, mtime_ticks = excluded.mtime_ticks,
                      media_id = excluded.media_id, recorded_at = excluded.recorded_at
                    """, tx);
                cmd.Parameters.AddWithValue("$p", s.Path);
                cmd.Parameters.AddWithValue("$s", s.SizeBytes);
                cmd.Parameters.AddWithValue("$m", s.MtimeTicks);
                cmd.Parameters.AddWithValue("$id", s.MediaId);
                cmd.Parameters.AddWithValue("$now", now);
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
            _checkpointer.Committed();
        }
    }

    /// <summary>The WHERE clause of a scope (modalities, collection) on <c>media m</c>, binding its parameters.</summary>
    static string Scope(SqliteCommand cmd, IReadOnlyList<string> modalities, string? collection)
    {
        if (modalities.Count == 0) throw new ArgumentException("a scope needs at least one modality", nameof(modalities));
        var names = new List<string>();
        for (var i = 0; i < modalities.Count; i++)
        {
            names.Add($"$mod{i}");
            cmd.Parameters.AddWithValue($"$mod{i}", modalities[i]);
        }
        var where = $"m.modality IN ({string.Join(", ", names)})";
        if (collection is not null)
        {
            where += " AND m.collection = $collection";
            cmd.Parameters.AddWithValue("$collection", collection);
        }
        return where;
    }

    public IReadOnlyList<CatalogItem> ItemsLacking(PackKey pack, IReadOnlyList<string> modalities, string? collection, long afterSeq, int limit)
    {
        lock (_gate)
        {
            using var cmd = Command(_db, Current, "");
            var scope = Scope(cmd, modalities, collection);
            cmd.CommandText = $"""
                SELECT {MediaColumns} FROM media m WHERE m.seq > $after AND {scope}
                  AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.seq = m.seq AND e.pack = $pack)
                ORDER BY m.seq LIMIT $limit
                """;
            cmd.Parameters.AddWithValue("$after", afterSeq);
            cmd.Parameters.AddWithValue("$pack", pack.ToString());
            cmd.Parameters.AddWithValue("$limit", limit);
            return ReadAll(cmd, ReadItem);
        }
    }

    public JobCoverage Coverage(PackKey pack, IReadOnlyList<string> modalities, string? collection)
    {
        lock (_gate)
        {
            using var cmd = Command(_db, Current, "");
            var scope = Scope(cmd, modalities, collection);
            cmd.CommandText = $"""
                SELECT COUNT(*), COALESCE(SUM(EXISTS (SELECT 1 FROM embeddings e WHERE e.seq = m.seq AND e.pack = $pack)), 0)
                FROM media m WHERE {scope}
                """;
            cmd.Parameters.AddWithValue("$pack", pack.ToString());
            using var r = cmd.ExecuteReader();
            r.Read();
            return new JobCoverage(r.GetInt64(0), r.GetInt64(1), 0);
        }
    }

    public JobCoverage JobCoverage(long jobId)
    {
        var job = FindJob(jobId) ?? throw new ArgumentException($"no job {jobId}", nameof(jobId));
        var coverage = Coverage(job.Pack, job.Modalities, job.Collection);
        lock (_gate)
        {
            var cmd = _statements.For("SELECT COUNT(*) FROM job_missing WHERE job_id = $j", Current);
            cmd.Parameters.AddWithValue("$j", jobId);
            return coverage with { Missing = Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) };
        }
    }

    public (ReprocessJob Job, int Run) StartJobRun(PackKey pack, string? collection, IReadOnlyList<string> modalities, long pending)
    {
        var mods = string.Join(",", modalities.Order(StringComparer.Ordinal));
        long jobId;
        int run;
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            var now = Now();
            using (var find = Command(_db, tx, """
                SELECT id FROM jobs WHERE kind = 'reembed' AND pack = $pack AND IFNULL(collection, '') = IFNULL($c, '') AND modalities = $mods
                  AND status <> 'completed' ORDER BY id DESC LIMIT 1
                """))
            {
                find.Parameters.AddWithValue("$pack", pack.ToString());
                find.Parameters.AddWithValue("$c", (object?)collection ?? DBNull.Value);
                find.Parameters.AddWithValue("$mods", mods);
                if (find.ExecuteScalar() is long existing) jobId = existing;
                else
                {
                    using var insert = Command(_db, tx, """
                        INSERT INTO jobs (kind, pack, collection, modalities, status, created_at, heartbeat_at) VALUES ('reembed', $pack, $c, $mods, 'running', $now, $now)
                        RETURNING id
                        """);
                    insert.Parameters.AddWithValue("$pack", pack.ToString());
                    insert.Parameters.AddWithValue("$c", (object?)collection ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$mods", mods);
                    insert.Parameters.AddWithValue("$now", now);
                    jobId = (long)insert.ExecuteScalar()!;
                }
            }
            using (var next = Command(_db, tx, "SELECT COALESCE(MAX(run), 0) + 1 FROM job_runs WHERE job_id = $j"))
            {
                next.Parameters.AddWithValue("$j", jobId);
                run = Convert.ToInt32(next.ExecuteScalar(), CultureInfo.InvariantCulture);
            }
            // A run that was killed never finished: it is marked so when the next run starts.
            using (var killed = Command(_db, tx, "UPDATE job_runs SET status = 'killed' WHERE job_id = $j AND status = 'running'"))
            {
                killed.Parameters.AddWithValue("$j", jobId);
                killed.ExecuteNonQuery();
            }
            using (var add = Command(_db, tx, """
                INSERT INTO job_runs (job_id, run, started_at, pending, processed, missing, status) VALUES ($j, $run, $now, $pending, 0, 0, 'running');
                UPDATE jobs SET status = 'running', heartbeat_at = $now, finished_at = NULL WHERE id = $j;
                """))
            {
                add.Parameters.AddWithValue("$j", jobId);
                add.Parameters.AddWithValue("$run", run);
                add.Parameters.AddWithValue("$now", now);
                add.Parameters.AddWithValue("$pending", pending);
                add.ExecuteNonQuery();
            }
            tx.Commit();
            _checkpointer.Committed();
        }
        return (FindJob(jobId)!, run);
    }

    public void RecordJobProgress(long jobId, int run, long processed, long missing) => UpdateRun(jobId, run, processed, missing, null);

    public void FinishJobRun(long jobId, int run, long processed, long missing, string status) => UpdateRun(jobId, run, processed, missing, status);

    void UpdateRun(long jobId, int run, long processed, long missing, string? status)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            using var cmd = Command(_db, tx, status is null
                ? """
                  UPDATE job_runs SET processed = $p, missing = $m WHERE job_id = $j AND run = $run;
                  UPDATE jobs SET heartbeat_at = $now WHERE id = $j;
                  """
                : """
                  UPDATE job_runs SET processed = $p, missing = $m, status = $status, finished_at = $now WHERE job_id = $j AND run = $run;
                  UPDATE jobs SET heartbeat_at = $now, status = $status, finished_at = $now WHERE id = $j;
                  """);
            cmd.Parameters.AddWithValue("$j", jobId);
            cmd.Parameters.AddWithValue("$run", run);
            cmd.Parameters.AddWithValue("$p", processed);
            cmd.Parameters.AddWithValue("$m", missing);
            cmd.Parameters.AddWithValue("$now", Now());
            if (status is not null) cmd.Parameters.AddWithValue("$status", status);
            cmd.ExecuteNonQuery();
            tx.Commit();
            _checkpointer.Committed();
        }
    }

    public void RecordMissing(long jobId, long seq, string mediaId, string path, string reason)
    {
        lock (_gate)
        {
            var cmd = _statements.For("""
                INSERT INTO job_missing (job_id, seq, media_id, path, reason, at) VALUES ($j, $seq, $id, $path, $reason, $now)
                ON CONFLICT (job_id, seq) DO UPDATE SET reason = excluded.reason, path = excluded.path, at = excluded.at
                """, null);
            cmd.Parameters.AddWithValue("$j", jobId);
            cmd.Parameters.AddWithValue("$seq", seq);
            cmd.Parameters.AddWithValue("$id", mediaId);
            cmd.Parameters.AddWithValue("$path", path);
            cmd.Parameters.AddWithValue("$reason", reason);
            cmd.Parameters.AddWithValue("$now", Now());
            cmd.ExecuteNonQuery();
            _checkpointer.Committed();
        }
    }

    public void ClearMissing(long jobId, long seq)
    {
        lock (_gate)
        {
            var cmd = _statements.For("DELETE FROM job_missing WHERE job_id = $j AND seq = $seq", Current);
            cmd.Parameters.AddWithValue("$j", jobId);
            cmd.Parameters.AddWithValue("$seq", seq);
            if (cmd.ExecuteNonQuery() > 0) _checkpointer.Committed();
        }
    }

    const string JobColumns = "id, kind, pack, collection, modalities, status, created_at, heartbeat_at, finished_at";

    ReprocessJob? FindJob(long id) => ReadJobs("WHERE id = $id", c => c.Parameters.AddWithValue("$id", id)).FirstOrDefault();

    public IReadOnlyList<ReprocessJob> Jobs() => ReadJobs("", _ => { });

    IReadOnlyList<ReprocessJob> ReadJobs(string where, Action<SqliteCommand> bind)
    {
        lock (_gate)
        {
            var jobs = new List<ReprocessJob>();
            using (var cmd = Command(_db, Current, $"SELECT {JobColumns} FROM jobs {where} ORDER BY id DESC"))
            {
                bind(cmd);
                using var r = cmd.ExecuteReader();
                while (r.Read())
                    jobs.Add(new ReprocessJob(r.GetInt64(0), r.GetString(1), PackKey.Parse(r.GetString(2)), r.IsDBNull(3) ? null : r.GetString(3),
                        r.GetString(4).Split(',', StringSplitOptions.RemoveEmptyEntries), r.GetString(5), Time(r.GetString(6)), Time(r.GetString(7)),
                        r.IsDBNull(8) ? null : Time(r.GetString(8)), 0, []));
            }
            for (var i = 0; i < jobs.Count; i++)
            {
                using var cmd = Command(_db, Current, "SELECT run, started_at, finished_at, pending, processed, missing, status FROM job_runs WHERE job_id = $j ORDER BY run");
                cmd.Parameters.AddWithValue("$j", jobs[i].Id);
                var runs = ReadAll(cmd, r => new JobRun(r.GetInt32(0), Time(r.GetString(1)), r.IsDBNull(2) ? null : Time(r.GetString(2)),
                    r.GetInt64(3), r.GetInt64(4), r.GetInt64(5), r.GetString(6)));
                jobs[i] = jobs[i] with { Runs = runs, Processed = runs.Sum(r => r.Processed) };
            }
            return jobs;
        }
    }

    public IReadOnlyList<JobMissingItem> MissingItems(long jobId)
    {
        lock (_gate)
        {
            using var cmd = Command(_db, Current, "SELECT seq, media_id, path, reason, at FROM job_missing WHERE job_id = $j ORDER BY seq");
            cmd.Parameters.AddWithValue("$j", jobId);
            return ReadAll(cmd, r => new JobMissingItem(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), Time(r.GetString(4))));
        }
    }

    public string? ActiveVersion(string name)
    {
        lock (_gate)
        {
            var cmd = _statements.For("SELECT version FROM pack_aliases WHERE name = $n", Current);
            cmd.Parameters.AddWithValue("$n", name);
            return cmd.ExecuteScalar() as string;
        }
    }

    public IReadOnlyList<PackVersionInfo> PackVersions()
    {
        lock (_gate)
        {
            var counts = new Dictionary<PackKey, long>();
            using (var cmd = Command(_db, Current, "SELECT pack, COUNT(*) FROM embeddings GROUP BY pack"))
            using (var r = cmd.ExecuteReader())
                while (r.Read()) counts[PackKey.Parse(r.GetString(0))] = r.GetInt64(1);
            var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
            using (var cmd = Command(_db, Current, "SELECT name, version FROM pack_aliases"))
            using (var r = cmd.ExecuteReader())
                while (r.Read()) aliases[r.GetString(0)] = r.GetString(1);
            foreach (var (name, version) in aliases) counts.TryAdd(new PackKey(name, version), 0);
            return [.. counts.OrderBy(c => c.Key.ToString(), StringComparer.Ordinal)
                .Select(c => new PackVersionInfo(c.Key, c.Value, aliases.TryGetValue(c.Key.Name, out var v) && v == c.Key.Version))];
        }
    }

    public string? Activate(PackKey pack, bool force = false)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            long have, lacking;
            using (var cmd = Command(_db, tx, """
                SELECT (SELECT COUNT(*) FROM embeddings WHERE pack = $key),
                       (SELECT COUNT(DISTINCT e.seq) FROM embeddings e WHERE substr(e.pack, 1, length($prefix)) = $prefix
                          AND NOT EXISTS (SELECT 1 FROM embeddings f WHERE f.seq = e.seq AND f.pack = $key))
                """))
            {
                cmd.Parameters.AddWithValue("$key", pack.ToString());
                cmd.Parameters.AddWithValue("$prefix", pack.Name + "@");
                using var r = cmd.ExecuteReader();
                r.Read();
                (have, lacking) = (r.GetInt64(0), r.GetInt64(1));
            }
            if (have == 0 && !force)
                throw new ArgumentException($"the catalog holds no embedding of {pack}: reprocess with it first (media reprocess --pack DIR)");
            if (lacking > 0 && !force)
                throw new ArgumentException($"{pack} does not cover the catalog yet: {lacking} items with an embedding of another version of {pack.Name} lack one of {pack} " +
                                            "(run media reprocess until its job completes; media jobs lists what is missing; --force activates anyway)");
            string? previous;
            using (var cmd = Command(_db, tx, "SELECT version FROM pack_aliases WHERE name = $n"))
            {
                cmd.Parameters.AddWithValue("$n", pack.Name);
                previous = cmd.ExecuteScalar() as string;
            }
            using (var cmd = Command(_db, tx, """
                INSERT INTO pack_aliases (name, version, activated_at) VALUES ($n, $v, $now)
                ON CONFLICT (name) DO UPDATE SET version = excluded.version, activated_at = excluded.activated_at
                """))
            {
                cmd.Parameters.AddWithValue("$n", pack.Name);
                cmd.Parameters.AddWithValue("$v", pack.Version);
                cmd.Parameters.AddWithValue("$now", Now());
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
            _checkpointer.Committed();
            return previous;
        }
    }

    public long DropEmbeddings(PackKey pack)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            using (var cmd = Command(_db, tx, "SELECT version FROM pack_aliases WHERE name = $n"))
            {
                cmd.Parameters.AddWithValue("$n", pack.Name);
                if (cmd.ExecuteScalar() as string == pack.Version)
                    throw new ArgumentException($"{pack} is the active version of {pack.Name}: activate another version before dropping it");
            }
            long dropped;
            using (var cmd = Command(_db, tx, "DELETE FROM embeddings WHERE pack = $key"))
            {
                cmd.Parameters.AddWithValue("$key", pack.ToString());
                dropped = cmd.ExecuteNonQuery();
            }
            if (dropped > 0) BumpEmbeddingGeneration(_db, tx);
            tx.Commit();
            _checkpointer.Committed();
            return dropped;
        }
    }
}
