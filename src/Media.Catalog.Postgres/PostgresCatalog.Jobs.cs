using System.Data;
using Media.Domain;
using Npgsql;

namespace Media.Catalog.Postgres;

/// <summary>
/// Reprocessing in the shared catalog (<see cref="IReprocessStore"/>): <c>file_stamps</c>, <c>jobs</c>, <c>job_runs</c>,
/// <c>job_missing</c>, <c>pack_aliases</c> and the embedding generation in <c>catalog_meta</c>, as in the embedded
/// catalog's schema 4. Progress is the <c>embeddings</c> table, whose key <c>(seq, pack)</c> allows one embedding per item
/// and pack@version.
/// </summary>
public sealed partial class PostgresCatalog
{
    public long EmbeddingGeneration => Run(c => (long)Scalar(c, null, "SELECT value FROM catalog_meta WHERE key = 'embedding_generation'")!);

    static void BumpEmbeddingGeneration(NpgsqlConnection c, NpgsqlTransaction tx) =>
        Execute(c, tx, "UPDATE catalog_meta SET value = value + 1 WHERE key = 'embedding_generation'");

    public bool AddEmbedding(long seq, CatalogEmbedding embedding)
    {
        EnsureVectorIndex(embedding.Pack, embedding.Vector.Length);
        return Run(c =>
        {
            using var tx = c.BeginTransaction();
            if (Scalar(c, tx, "SELECT 1 FROM media WHERE seq = @seq", ("seq", seq)) is null)
                throw new ArgumentException($"no catalogued item has sequence {seq}", nameof(seq));
            if (Execute(c, tx, """
                INSERT INTO embeddings (seq, pack, space, semantic, dim, vector) VALUES (@seq, @pack, @space, @semantic, @dim, @vector)
                ON CONFLICT (seq, pack) DO NOTHING
                """, ("seq", seq), ("pack", embedding.Pack.ToString()), ("space", embedding.Space), ("semantic", embedding.Semantic),
                ("dim", embedding.Vector.Length), ("vector", new Pgvector.Vector(embedding.Vector))) == 0)
            {
                tx.Rollback();
                return false; // one embedding per item and pack@version
            }
            BumpEmbeddingGeneration(c, tx);
            tx.Commit();
            return true;
        });
    }

    public FileStamp? FindFileStamp(string path) => Run(c =>
    {
        using var cmd = Command(c, null, "SELECT size_bytes, mtime_ticks, media_id FROM file_stamps WHERE path = @p", ("p", path));
        using var r = cmd.ExecuteReader();
        return r.Read() ? new FileStamp(path, r.GetInt64(0), r.GetInt64(1), r.GetString(2)) : null;
    });

    public void RecordFileStamps(IReadOnlyList<FileStamp> stamps)
    {
        if (stamps.Count == 0) return;
        InTransaction((c, tx) =>
        {
            var now = Now();
            foreach (var s in stamps)
                Execute(c, tx, """
                    INSERT INTO file_stamps (path, size_bytes, mtime_ticks, media_id, recorded_at) VALUES (@p, @s, @m, @id, @now)
                    ON CONFLICT (path) DO UPDATE SET size_bytes = excluded.size_bytes, mtime_ticks = excluded.mtime_ticks,
                      media_id = excluded.media_id, recorded_at = excluded.recorded_at
                    """, ("p", s.Path), ("s", s.SizeBytes), ("m", s.MtimeTicks), ("id", s.MediaId), ("now", now));
            return 0;
        });
    }

    /// <summary>The WHERE clause of a scope (modalities, collection) on <c>media m</c>, with its parameters.</summary>
    static (string Where, (string, object?)[] Parameters) Scope(IReadOnlyList<string> modalities, string? collection)
    {
        if (modalities.Count == 0) throw new ArgumentException("a scope needs at least one modality", nameof(modalities));
        return collection is null
            ? ("m.modality = ANY(@mods)", [("mods", modalities.ToArray())])
            : ("m.modality = ANY(@mods) AND m.collection = @collection", [("mods", modalities.ToArray()), ("collection", collection)]);
    }

    public IReadOnlyList<CatalogItem> ItemsLacking(PackKey pack, IReadOnlyList<string> modalities, string? collection, long afterSeq, int limit)
    {
        var (where, parameters) = Scope(modalities, collection);
        return Run(c =>
        {
            using var cmd = Command(c, null, $"""
                SELECT {MediaColumns} FROM media m WHERE m.seq > @after AND {where}
                  AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.seq = m.seq AND e.pack = @pack)
                ORDER BY m.seq LIMIT @limit
                """, [.. parameters, ("after", afterSeq), ("pack", pack.ToString()), ("limit", limit)]);
            return (IReadOnlyList<CatalogItem>)ReadAll(cmd, ReadItem);
        });
    }

    public JobCoverage Coverage(PackKey pack, IReadOnlyList<string> modalities, string? collection)
    {
        var (where, parameters) = Scope(modalities, collection);
        return Run(c =>
        {
            using var cmd = Command(c, null, $"""
                SELECT COUNT(*), COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM embeddings e WHERE e.seq = m.seq AND e.pack = @pack))
                FROM media m WHERE {where}
                """, [.. parameters, ("pack", pack.ToString())]);
            using var r = cmd.ExecuteReader();
            r.Read();
            return new JobCoverage(r.GetInt64(0), r.GetInt64(1), 0);
        });
    }

    public JobCoverage JobCoverage(long jobId)
    {
        var job = FindJob(jobId) ?? throw new ArgumentException($"no job {jobId}", nameof(jobId));
        var coverage = Coverage(job.Pack, job.Modalities, job.Collection);
        return coverage with { Missing = Run(c => (long)Scalar(c, null, "SELECT COUNT(*) FROM job_missing WHERE job_id = @j", ("j", jobId))!) };
    }

    public (ReprocessJob Job, int Run) StartJobRun(PackKey pack, string? collection, IReadOnlyList<string> modalities, long pending)
    {
        var mods = string.Join(",", modalities.Order(StringComparer.Ordinal));
        var (jobId, run) = InTransaction((c, tx) =>
        {
            var now = Now();
            // One job per scope even when two runs start at once on two machines.
            Execute(c, tx, "LOCK TABLE jobs IN SHARE ROW EXCLUSIVE MODE");
            var jobId = Scalar(c, tx, """
                SELECT id FROM jobs WHERE kind = 'reembed' AND pack = @pack AND COALESCE(collection, '') = COALESCE(@c, '') AND modalities = @mods
                  AND status <> 'completed' ORDER BY id DESC LIMIT 1
                """, ("pack", pack.ToString()), ("c", collection), ("mods", mods)) as long?
                ?? (long)Scalar(c, tx, "INSERT INTO jobs (kind, pack, collection, modalities, status, created_at, heartbeat_at) VALUES ('reembed', @pack, @c, @mods, 'running', @now, @now) RETURNING id",
                    ("pack", pack.ToString()), ("c", collection), ("mods", mods), ("now", now))!;
            var run = (int)(long)Scalar(c, tx, "SELECT COALESCE(MAX(run), 0) + 1 FROM job_runs WHERE job_id = @j", ("j", jobId))!;
            // A run that was killed never finished: it is marked so when the next run starts.
            Execute(c, tx, "UPDATE job_runs SET status = 'killed' WHERE job_id = @j AND status = 'running'", ("j", jobId));
            Execute(c, tx, "INSERT INTO job_runs (job_id, run, started_at, pending, processed, missing, status) VALUES (@j, @run, @now, @pending, 0, 0, 'running')",
                ("j", jobId), ("run", run), ("now", now), ("pending", pending));
            Execute(c, tx, "UPDATE jobs SET status = 'running', heartbeat_at = @now, finished_at = NULL WHERE id = @j", ("j", jobId), ("now", now));
            return (jobId, run);
        });
        return (FindJob(jobId)!, run);
    }

    public void RecordJobProgress(long jobId, int run, long processed, long missing) => UpdateRun(jobId, run, processed, missing, null);

    public void FinishJobRun(long jobId, int run, long processed, long missing, string status) => UpdateRun(jobId, run, processed, missing, status);

    void UpdateRun(long jobId, int run, long processed, long missing, string? status) => InTransaction((c, tx) =>
    {
        var now = Now();
        if (status is null)
        {
            Execute(c, tx, "UPDATE job_runs SET processed = @p, missing = @m WHERE job_id = @j AND run = @run", ("p", processed), ("m", missing), ("j", jobId), ("run", run));
            Execute(c, tx, "UPDATE jobs SET heartbeat_at = @now WHERE id = @j", ("now", now), ("j", jobId));
        }
        else
        {
            Execute(c, tx, "UPDATE job_runs SET processed = @p, missing = @m, status = @status, finished_at = @now WHERE job_id = @j AND run = @run",
                ("p", processed), ("m", missing), ("status", status), ("now", now), ("j", jobId), ("run", run));
            Execute(c, tx, "UPDATE jobs SET heartbeat_at = @now, status = @status, finished_at = @now WHERE id = @j", ("now", now), ("status", status), ("j", jobId));
        }
        return 0;
    });

    public void RecordMissing(long jobId, long seq, string mediaId, string path, string reason) => Run(c => Execute(c, null, """
        INSERT INTO job_missing (job_id, seq, media_id, path, reason, at) VALUES (@j, @seq, @id, @path, @reason, @now)
        ON CONFLICT (job_id, seq) DO UPDATE SET reason = excluded.reason, path = excluded.path, at = excluded.at
        """, ("j", jobId), ("seq", seq), ("id", mediaId), ("path", path), ("reason", reason), ("now", Now())));

    public void ClearMissing(long jobId, long seq) =>
        Run(c => Execute(c, null, "DELETE FROM job_missing WHERE job_id = @j AND seq = @seq", ("j", jobId), ("seq", seq)));

    const string JobColumns = "id, kind, pack, collection, modalities, status, created_at, heartbeat_at, finished_at";

    ReprocessJob? FindJob(long id) => ReadJobs("WHERE id = @id", [("id", id)]).FirstOrDefault();

    public IReadOnlyList<ReprocessJob> Jobs() => ReadJobs("", []);

    IReadOnlyList<ReprocessJob> ReadJobs(string where, (string, object?)[] parameters) => InTransaction((c, tx) =>
    {
        List<ReprocessJob> jobs;
        using (var cmd = Command(c, tx, $"SELECT {JobColumns} FROM jobs {where} ORDER BY id DESC", parameters))
            jobs = ReadAll(cmd, r => new ReprocessJob(r.GetInt64(0), r.GetString(1), PackKey.Parse(r.GetString(2)), StringOrNull(r, 3),
                r.GetString(4).Split(',', StringSplitOptions.RemoveEmptyEntries), r.GetString(5), Time(r, 6), Time(r, 7), TimeOrNull(r, 8), 0, []));
        for (var i = 0; i < jobs.Count; i++)
        {
            using var cmd = Command(c, tx, "SELECT run, started_at, finished_at, pending, processed, missing, status FROM job_runs WHERE job_id = @j ORDER BY run", ("j", jobs[i].Id));
            var runs = ReadAll(cmd, r => new JobRun(r.GetInt32(0), Time(r, 1), TimeOrNull(r, 2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5), r.GetString(6)));
            jobs[i] = jobs[i] with { Runs = runs, Processed = runs.Sum(r => r.Processed) };
        }
        return (IReadOnlyList<ReprocessJob>)jobs;
    }, IsolationLevel.RepeatableRead);

    public IReadOnlyList<JobMissingItem> MissingItems(long jobId) => Run(c =>
    {
        using var cmd = Command(c, null, "SELECT seq, media_id, path, reason, at FROM job_missing WHERE job_id = @j ORDER BY seq", ("j", jobId));
        return (IReadOnlyList<JobMissingItem>)ReadAll(cmd, r => new JobMissingItem(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), Time(r, 4)));
    });

    public string? ActiveVersion(string name) => Run(c => Scalar(c, null, "SELECT version FROM pack_aliases WHERE name = @n", ("n", name)) as string);

    public IReadOnlyList<PackVersionInfo> PackVersions() => InTransaction((c, tx) =>
    {
        var counts = new Dictionary<PackKey, long>();
        using (var cmd = Command(c, tx, "SELECT pack, COUNT(*) FROM embeddings GROUP BY pack"))
        using (var r = cmd.ExecuteReader())
            while (r.Read()) counts[PackKey.Parse(r.GetString(0))] = r.GetInt64(1);
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var cmd = Command(c, tx, "SELECT name, version FROM pack_aliases"))
        using (var r = cmd.ExecuteReader())
            while (r.Read()) aliases[r.GetString(0)] = r.GetString(1);
        foreach (var (name, version) in aliases) counts.TryAdd(new PackKey(name, version), 0);
        return (IReadOnlyList<PackVersionInfo>)[.. counts.OrderBy(x => x.Key.ToString(), StringComparer.Ordinal)
            .Select(x => new PackVersionInfo(x.Key, x.Value, aliases.TryGetValue(x.Key.Name, out var v) && v == x.Key.Version))];
    }, IsolationLevel.RepeatableRead);

    public string? Activate(PackKey pack, bool force = false) => InTransaction((c, tx) =>
    {
        // Serialises activations and keeps embeddings of the name from changing under the coverage check.
        Execute(c, tx, "LOCK TABLE pack_aliases IN SHARE ROW EXCLUSIVE MODE");
        long have, lacking;
        using (var cmd = Command(c, tx, """
            SELECT (SELECT COUNT(*) FROM embeddings WHERE pack = @key),
                   (SELECT COUNT(DISTINCT e.seq) FROM embeddings e WHERE starts_with(e.pack, @prefix)
                      AND NOT EXISTS (SELECT 1 FROM embeddings f WHERE f.seq = e.seq AND f.pack = @key))
            """, ("key", pack.ToString()), ("prefix", pack.Name + "@")))
        using (var r = cmd.ExecuteReader())
        {
            r.Read();
            (have, lacking) = (r.GetInt64(0), r.GetInt64(1));
        }
        if (have == 0 && !force)
            throw new ArgumentException($"the catalog holds no embedding of {pack}: reprocess with it first (media reprocess --pack DIR)");
        if (lacking > 0 && !force)
            throw new ArgumentException($"{pack} does not cover the catalog yet: {lacking} items with an embedding of another version of {pack.Name} lack one of {pack} " +
                                        "(run media reprocess until its job completes; media jobs lists what is missing; --force activates anyway)");
        var previous = Scalar(c, tx, "SELECT version FROM pack_aliases WHERE name = @n", ("n", pack.Name)) as string;
        Execute(c, tx, """
            INSERT INTO pack_aliases (name, version, activated_at) VALUES (@n, @v, @now)
            ON CONFLICT (name) DO UPDATE SET version = excluded.version, activated_at = excluded.activated_at
            """, ("n", pack.Name), ("v", pack.Version), ("now", Now()));
        return previous;
    });

    public long DropEmbeddings(PackKey pack) => InTransaction((c, tx) =>
    {
        if (Scalar(c, tx, "SELECT version FROM pack_aliases WHERE name = @n", ("n", pack.Name)) as string == pack.Version)
            throw new ArgumentException($"{pack} is the active version of {pack.Name}: activate another version before dropping it");
        long dropped = Execute(c, tx, "DELETE FROM embeddings WHERE pack = @key", ("key", pack.ToString()));
        if (dropped > 0) BumpEmbeddingGeneration(c, tx);
        return dropped;
    });
}
