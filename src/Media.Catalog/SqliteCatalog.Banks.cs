using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace Media.Catalog;

/// <summary>
/// The hash banks of the embedded catalog (<see cref="IHashBankStore"/>), in the same <c>catalog.db</c> as the catalog
/// but in tables of their own (schema version 3): <c>banks</c> (name, action, enabled, counts kept in the same
/// transactions as the contents), <c>bank_content</c> (one row per content: SHA-256, PDQ and quality, Chromaprint, note)
/// and <c>bank_generation</c> (the change counter, one row).
/// </summary>
public sealed partial class SqliteCatalog
{
    const string Version3Tables = """
        CREATE TABLE banks (
          id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, action TEXT NOT NULL, enabled INTEGER NOT NULL,
          n_contents INTEGER NOT NULL DEFAULT 0, n_sha256 INTEGER NOT NULL DEFAULT 0, n_pdq INTEGER NOT NULL DEFAULT 0,
          n_chromaprint INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
        CREATE TABLE bank_content (
          id INTEGER PRIMARY KEY AUTOINCREMENT, bank_id INTEGER NOT NULL REFERENCES banks(id) ON DELETE CASCADE,
          sha256 BLOB, pdq BLOB, pdq_quality INTEGER, chromaprint BLOB, note TEXT, created_at TEXT NOT NULL,
          CHECK (sha256 IS NOT NULL OR pdq IS NOT NULL));
        CREATE INDEX bank_content_bank ON bank_content(bank_id);
        CREATE UNIQUE INDEX bank_content_sha256 ON bank_content(bank_id, sha256) WHERE sha256 IS NOT NULL;
        CREATE UNIQUE INDEX bank_content_pdq ON bank_content(bank_id, pdq) WHERE sha256 IS NULL;
        CREATE TABLE bank_generation (one INTEGER PRIMARY KEY CHECK (one = 1), value INTEGER NOT NULL);
        INSERT INTO bank_generation (one, value) VALUES (1, 0);
        """;

    /// <summary>Version 3: the hash bank tables, empty. Nothing of version 2 changes.</summary>
    static void CreateVersion3(SqliteConnection db, SqliteTransaction tx) => Execute(db, tx, Version3Tables);

    const string BankColumns = "id, name, action, enabled, created_at, n_contents, n_sha256, n_pdq, n_chromaprint";

    static HashBank ReadBank(SqliteDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt64(3) != 0,
        DateTimeOffset.Parse(r.GetString(4), CultureInfo.InvariantCulture), r.GetInt64(5), r.GetInt64(6), r.GetInt64(7), r.GetInt64(8));

    static BankContent ReadContent(SqliteDataReader r) => new(r.GetInt64(0), r.GetInt64(1),
        r.IsDBNull(2) ? null : (byte[])r[2], r.IsDBNull(3) ? null : (byte[])r[3], r.IsDBNull(4) ? null : r.GetInt32(4),
        r.IsDBNull(5) ? null : MemoryMarshal.Cast<byte, uint>(((byte[])r[5]).AsSpan()).ToArray(), r.IsDBNull(6) ? null : r.GetString(6),
        DateTimeOffset.Parse(r.GetString(7), CultureInfo.InvariantCulture));

    static void BumpGeneration(SqliteConnection db, SqliteTransaction tx) => Execute(db, tx, "UPDATE bank_generation SET value = value + 1");

    /// <summary>One compiled single-row read on the writer connection: a detect worker asks before every item.</summary>
    public long BankGeneration
    {
        get { lock (_gate) return Convert.ToInt64(_statements.For("SELECT value FROM bank_generation", Current).ExecuteScalar(), CultureInfo.InvariantCulture); }
    }

    public HashBank CreateBank(string name, string action)
    {
        if (!HashBank.ValidName(name))
            throw new HashBankException($"'{name}' is not a valid bank name: 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit");
        if (!HashBank.ValidAction(action))
            throw new HashBankException($"'{action}' is not a valid action label: 1-64 letters, digits, '_', '.', ':' or '-', starting with a letter or digit");
        action = action.ToLowerInvariant();
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            using (var cmd = Command(_db, tx, "INSERT INTO banks (name, action, enabled, created_at) VALUES ($name, $action, 1, $now) ON CONFLICT (name) DO NOTHING RETURNING id"))
            {
                cmd.Parameters.AddWithValue("$name", name);
                cmd.Parameters.AddWithValue("$action", action);
                cmd.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToString("O"));
                if (cmd.ExecuteScalar() is not long) throw new HashBankException($"a bank named '{name}' exists already");
            }
            BumpGeneration(_db, tx);
            var bank = FindBank(_db, tx, name)!;
            tx.Commit();
            _checkpointer.Committed();
            return bank;
        }
    }

    static HashBank? FindBank(SqliteConnection db, SqliteTransaction? tx, string name)
    {
        using var cmd = Command(db, tx, $"SELECT {BankColumns} FROM banks WHERE name = $name");
        cmd.Parameters.AddWithValue("$name", name);
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadBank(r) : null;
    }

    static HashBankException NoSuchBank(string name) => new($"no bank named '{name}'");

    public HashBank? FindBank(string name)
    {
        lock (_gate) return FindBank(_db, Current, name);
    }

    public IReadOnlyList<HashBank> Banks()
    {
        lock (_gate)
        {
            using var cmd = Command(_db, Current, $"SELECT {BankColumns} FROM banks ORDER BY name");
            return ReadAll(cmd, ReadBank);
        }
    }

    public BankAddResult AddToBank(string name, IReadOnlyList<BankContent> contents)
    {
        for (var i = 0; i < contents.Count; i++)
        {
            var c = contents[i];
            if (c.Sha256 is null && c.Pdq is null) throw new ArgumentException($"content {i} has neither a SHA-256 nor a PDQ hash", nameof(contents));
            if (c.Sha256 is { Length: not 32 }) throw new ArgumentException($"content {i}: a SHA-256 is 32 bytes, got {c.Sha256.Length}", nameof(contents));
            if (c.Pdq is { Length: not 32 }) throw new ArgumentException($"content {i}: a PDQ hash is 32 bytes, got {c.Pdq.Length}", nameof(contents));
            if (c.PdqQuality is < 0 or > 100) throw new ArgumentException($"content {i}: PDQ quality {c.PdqQuality} is outside 0-100", nameof(contents));
        }
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            var bank = FindBank(_db, tx, name) ?? throw NoSuchBank(name);
            int added = 0, sha = 0, pdq = 0, fp = 0;
            using (var cmd = Command(_db, tx, """
                INSERT INTO bank_content (bank_id, sha256, pdq, pdq_quality, chromaprint, note, created_at)
                VALUES ($bank, $sha, $pdq, $q, $fp, $note, $now) ON CONFLICT DO NOTHING
                """))
            {
                cmd.Parameters.AddWithValue("$bank", bank.Id);
                cmd.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToString("O"));
                var shaP = cmd.Parameters.Add("$sha", SqliteType.Blob);
                var pdqP = cmd.Parameters.Add("$pdq", SqliteType.Blob);
                var qP = cmd.Parameters.Add("$q", SqliteType.Integer);
                var fpP = cmd.Parameters.Add("$fp", SqliteType.Blob);
                var noteP = cmd.Parameters.Add("$note", SqliteType.Text);
                foreach (var c in contents)
                {
                    shaP.Value = (object?)c.Sha256 ?? DBNull.Value;
                    pdqP.Value = (object?)c.Pdq ?? DBNull.Value;
                    qP.Value = (object?)c.PdqQuality ?? DBNull.Value;
                    fpP.Value = c.Chromaprint is { Length: > 0 } f ? MemoryMarshal.AsBytes(f.AsSpan()).ToArray() : DBNull.Value;
                    noteP.Value = (object?)c.Note ?? DBNull.Value;
                    if (cmd.ExecuteNonQuery() == 0) continue;
                    added++;
                    if (c.Sha256 is not null) sha++;
                    if (c.Pdq is not null) pdq++;
                    if (c.Chromaprint is { Length: > 0 }) fp++;
                }
            }
            if (added > 0)
            {
                using (var cmd = Command(_db, tx, "UPDATE banks SET n_contents = n_contents + $n, n_sha256 = n_sha256 + $sha, n_pdq = n_pdq + $pdq, n_chromaprint = n_chromaprint + $fp WHERE id = $id"))
                {
                    cmd.Parameters.AddWithValue("$n", added);
                    cmd.Parameters.AddWithValue("$sha", sha);
                    cmd.Parameters.AddWithValue("$pdq", pdq);
                    cmd.Parameters.AddWithValue("$fp", fp);
                    cmd.Parameters.AddWithValue("$id", bank.Id);
                    cmd.ExecuteNonQuery();
                }
                BumpGeneration(_db, tx);
            }
            tx.Commit();
            _checkpointer.Committed();
            return new BankAddResult(added, contents.Count - added);
        }
    }

    public HashBank SetBankEnabled(string name, bool enabled)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            using (var cmd = Command(_db, tx, "UPDATE banks SET enabled = $e WHERE name = $name"))
            {
                cmd.Parameters.AddWithValue("$e", enabled ? 1 : 0);
                cmd.Parameters.AddWithValue("$name", name);
                if (cmd.ExecuteNonQuery() == 0) throw NoSuchBank(name);
            }
            BumpGeneration(_db, tx);
            var bank = FindBank(_db, tx, name)!;
            tx.Commit();
            _checkpointer.Committed();
            return bank;
        }
    }

    public void RemoveBank(string name)
    {
        lock (_gate)
        {
            using var tx = _db.BeginTransaction();
            using (var cmd = Command(_db, tx, "DELETE FROM banks WHERE name = $name")) // bank_content rows go with it (ON DELETE CASCADE)
            {
                cmd.Parameters.AddWithValue("$name", name);
                if (cmd.ExecuteNonQuery() == 0) throw NoSuchBank(name);
            }
            BumpGeneration(_db, tx);
            tx.Commit();
            _checkpointer.Committed();
        }
    }

    /// <summary>Reads in one transaction on a connection of its own (a WAL snapshot), so writers go on meanwhile.</summary>
    public BankSnapshot ReadBanks(long afterContentId = 0)
    {
        using var db = new SqliteConnection(_connectionString);
        db.Open();
        Execute(db, null, "PRAGMA busy_timeout = 30000;");
        using var tx = db.BeginTransaction(deferred: true);
        var generation = Convert.ToInt64(Scalar(db, tx, "SELECT value FROM bank_generation"), CultureInfo.InvariantCulture);
        List<HashBank> banks;
        using (var cmd = Command(db, tx, $"SELECT {BankColumns} FROM banks ORDER BY name"))
            banks = ReadAll(cmd, ReadBank);
        List<BankContent> contents;
        using (var cmd = Command(db, tx, "SELECT id, bank_id, sha256, pdq, pdq_quality, chromaprint, note, created_at FROM bank_content WHERE id > $after ORDER BY id"))
        {
            cmd.Parameters.AddWithValue("$after", afterContentId);
            contents = ReadAll(cmd, ReadContent);
        }
        tx.Commit();
        return new BankSnapshot(generation, banks, contents);
    }
}
