using Microsoft.Data.Sqlite;

namespace Media.Catalog;

/// <summary>
/// The compiled statements of one connection, kept between calls: SQLite compiles a statement once, and
/// Microsoft.Data.Sqlite keeps it compiled while its command lives, so the catalog's hot statements (insert an item,
/// look up a submission) are not parsed and planned again for every item. Not thread-safe: the catalog uses it under
/// its writer lock. A command from <see cref="For"/> must not be disposed by the caller, and its reader must be
/// disposed before the next call for the same SQL.
/// </summary>
sealed class PreparedStatements(SqliteConnection db) : IDisposable
{
    readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    /// <summary>The command for <paramref name="sql"/> on this connection, enlisted in <paramref name="tx"/>, parameters cleared.</summary>
    public SqliteCommand For(string sql, SqliteTransaction? tx)
    {
        if (!_commands.TryGetValue(sql, out var cmd))
        {
            cmd = db.CreateCommand();
            cmd.CommandText = sql;
            _commands.Add(sql, cmd);
        }
        cmd.Transaction = tx;
        cmd.Parameters.Clear();
        return cmd;
    }

    public void Dispose()
    {
        foreach (var cmd in _commands.Values) cmd.Dispose();
        _commands.Clear();
    }
}

/// <summary>
/// Runs WAL checkpoints on a connection and thread of its own. SQLite's automatic checkpoint runs inside the commit
/// that crosses its threshold, so without this one item in every few hundred waits for the WAL's pages to be copied
/// into the database file and synced (at 200k items that was a third of the detect thread's time). Here the writer only
/// counts writes; every <see cref="WritesPerCheckpoint"/> items or submissions committed (a detection batch), a
/// <c>PRAGMA wal_checkpoint(PASSIVE)</c> runs beside it (PASSIVE never blocks the writer or readers:
/// sqlite.org/c3ref/wal_checkpoint_v2.html); requests that arrive while one runs are covered by the next.
/// The writer keeps an automatic checkpoint at <see cref="BackstopPages"/> pages, which bounds the WAL. Under a steady
/// stream of commits it is also what starts the WAL over: a PASSIVE checkpoint copies the frames committed before it
/// began, so it never finds the whole WAL copied while commits go on, and SQLite writes the WAL from its beginning again
/// only after a complete checkpoint. That commit copies what the background checkpoints have not copied yet and syncs
/// the WAL and the database file, so it waits as long as that remainder is large: with a checkpoint every 256 writes it
/// took 110–190 ms at 10⁶ items, one batch in every few hundred; with one every batch, the remainder is a batch or two,
/// and continuing a 10⁶ catalog by 60,000 items no batch over 50 ms spent more than 1 ms in its commit (README, "Benchmarks").
/// Tried, not adopted: a RESTART checkpoint from this thread instead (as Litestream does) stalled the writer as long;
/// a 128 MiB threshold gave no fewer slow items at 2·10⁵, and longer ones (92–100 ms against 56–66 ms).
/// </summary>
sealed class WalCheckpointer : IDisposable
{
    /// <summary>The writer's own automatic checkpoint threshold, in pages (4 KiB each): 32 MiB of WAL.</summary>
    public const int BackstopPages = 8192;
    /// <summary>Items or submissions written between background checkpoints (a few pages each): one detection batch.</summary>
    public const int WritesPerCheckpoint = 16;

    readonly string _connectionString;
    readonly SemaphoreSlim _due = new(0);
    readonly Thread _thread;
    long _writes;
    volatile bool _stopping;

    public WalCheckpointer(string connectionString)
    {
        _connectionString = connectionString;
        _thread = new Thread(Run) { IsBackground = true, Name = "catalog-checkpoint" };
        _thread.Start();
    }

    /// <summary>Called by the writer after each commit of <paramref name="writes"/> items or submissions.</summary>
    public void Committed(int writes = 1)
    {
        var after = Interlocked.Add(ref _writes, writes);
        if (after / WritesPerCheckpoint != (after - writes) / WritesPerCheckpoint) _due.Release();
    }

    void Run()
    {
        SqliteConnection? db = null;
        try
        {
            while (true)
            {
                _due.Wait();
                while (_due.Wait(0)) { } // one checkpoint covers every commit before it
                if (_stopping) return;
                try
                {
                    if (db is null)
                    {
                        db = new SqliteConnection(_connectionString);
                        db.Open();
                    }
                    using var cmd = db.CreateCommand();
                    cmd.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
                    cmd.ExecuteNonQuery();
                }
                catch (SqliteException)
                {
                    // A checkpoint that cannot run now (the file is being closed, or another process holds the
                    // checkpoint lock) is retried at the next round; the writer's backstop bounds the WAL meanwhile.
                    db?.Dispose();
                    db = null;
                }
            }
        }
        finally
        {
            db?.Dispose();
        }
    }

    /// <summary>Stops the thread after any checkpoint in progress; a second call does nothing.</summary>
    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        _due.Release();
        _thread.Join();
    }
}
