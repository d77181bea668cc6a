using System.Data;
using Npgsql;

namespace Media.Catalog.Postgres;

/// <summary>
/// Hash banks in the shared catalog (<see cref="IHashBankStore"/>): tables <c>banks</c> and <c>bank_content</c>, and the
/// change counter <c>bank_generation</c> in <c>catalog_meta</c>. Every change locks that counter's row first
/// (<c>SELECT … FOR UPDATE</c>), which serialises bank writers across nodes: content ids (highest plus one) are then
/// strictly increasing in commit order, and the generation rises in the same transaction as the change.
/// </summary>
public sealed partial class PostgresCatalog
{
    const string BankColumns = "id, name, action, enabled, created_at, n_contents, n_sha256, n_pdq, n_chromaprint";

    static HashBank ReadBank(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetBoolean(3), Time(r, 4),
        r.GetInt64(5), r.GetInt64(6), r.GetInt64(7), r.GetInt64(8));

    static BankContent ReadContent(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetInt64(1),
        r.IsDBNull(2) ? null : (byte[])r[2], r.IsDBNull(3) ? null : (byte[])r[3], r.IsDBNull(4) ? null : r.GetInt32(4),
        r.IsDBNull(5) ? null : ToFingerprint((byte[])r[5]), StringOrNull(r, 6), Time(r, 7));

    /// <summary>Locks the generation row: the bank writers' mutex, held to the end of the transaction.</summary>
    static void LockBanks(NpgsqlConnection c, NpgsqlTransaction tx) =>
        Execute(c, tx, "SELECT value FROM catalog_meta WHERE key = 'bank_generation' FOR UPDATE");

    static void BumpBankGeneration(NpgsqlConnection c, NpgsqlTransaction tx) =>
        Execute(c, tx, "UPDATE catalog_meta SET value = value + 1 WHERE key = 'bank_generation'");

    public long BankGeneration => Run(c => (long)Scalar(c, null, "SELECT value FROM catalog_meta WHERE key = 'bank_generation'")!);

    public HashBank CreateBank(string name, string action)
    {
        if (!HashBank.ValidName(name))
            throw new HashBankException($"'{name}' is not a valid bank name: 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit");
        if (!HashBank.ValidAction(action))
            throw new HashBankException($"'{action}' is not a valid action label: 1-64 letters, digits, '_', '.', ':' or '-', starting with a letter or digit");
        action = action.ToLowerInvariant();
        return InTransaction((c, tx) =>
        {
            LockBanks(c, tx);
            if (Scalar(c, tx, "INSERT INTO banks (name, action, enabled, created_at) VALUES (@n, @a, true, @now) ON CONFLICT (name) DO NOTHING RETURNING id",
                    ("n", name), ("a", action), ("now", Now())) is not long)
                throw new HashBankException($"a bank named '{name}' exists already");
            BumpBankGeneration(c, tx);
            return FindBank(c, tx, name)!;
        });
    }

    static HashBank? FindBank(NpgsqlConnection c, NpgsqlTransaction? tx, string name)
    {
        using var cmd = Command(c, tx, $"SELECT {BankColumns} FROM banks WHERE name = @n", ("n", name));
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadBank(r) : null;
    }

    static HashBankException NoSuchBank(string name) => new($"no bank named '{name}'");

    public HashBank? FindBank(string name) => Run(c => FindBank(c, null, name));

    public IReadOnlyList<HashBank> Banks() => Run(c =>
    {
        using var cmd = Command(c, null, $"SELECT {BankColumns} FROM banks ORDER BY name COLLATE \"C\"");
        return (IReadOnlyList<HashBank>)ReadAll(cmd, ReadBank);
    });

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
        return InTransaction((c, tx) =>
        {
            LockBanks(c, tx);
            var bank = FindBank(c, tx, name) ?? throw NoSuchBank(name);
            int added = 0, sha = 0, pdq = 0, fp = 0;
            var now = Now();
            foreach (var content in contents)
            {
                var wrote = Execute(c, tx, """
                    INSERT INTO bank_content (id, bank_id, sha256, pdq, pdq_quality, chromaprint, note, created_at)
                    SELECT COALESCE(MAX(id), 0) + 1, @bank, @sha::bytea, @pdq::bytea, @q::integer, @fp::bytea, @note::text, @now FROM bank_content ON CONFLICT DO NOTHING
                    """, ("bank", bank.Id), ("sha", content.Sha256), ("pdq", content.Pdq), ("q", content.PdqQuality),
                    ("fp", content.Chromaprint is { Length: > 0 } f ? ToBytes(f) : null), ("note", content.Note), ("now", now));
                if (wrote == 0) continue;
                added++;
                if (content.Sha256 is not null) sha++;
                if (content.Pdq is not null) pdq++;
                if (content.Chromaprint is { Length: > 0 }) fp++;
            }
            if (added > 0)
            {
                Execute(c, tx, "UPDATE banks SET n_contents = n_contents + @n, n_sha256 = n_sha256 + @sha, n_pdq = n_pdq + @pdq, n_chromaprint = n_chromaprint + @fp WHERE id = @id",
                    ("n", (long)added), ("sha", (long)sha), ("pdq", (long)pdq), ("fp", (long)fp), ("id", bank.Id));
                BumpBankGeneration(c, tx);
            }
            return new BankAddResult(added, contents.Count - added);
        });
    }

    public HashBank SetBankEnabled(string name, bool enabled) => InTransaction((c, tx) =>
    {
        LockBanks(c, tx);
        if (Execute(c, tx, "UPDATE banks SET enabled = @e WHERE name = @n", ("e", enabled), ("n", name)) == 0) throw NoSuchBank(name);
        BumpBankGeneration(c, tx);
        return FindBank(c, tx, name)!;
    });

    public void RemoveBank(string name) => InTransaction((c, tx) =>
    {
        LockBanks(c, tx);
        // bank_content rows go with it (ON DELETE CASCADE)
        if (Execute(c, tx, "DELETE FROM banks WHERE name = @n", ("n", name)) == 0) throw NoSuchBank(name);
        BumpBankGeneration(c, tx);
        return 0;
    });

    /// <summary>One REPEATABLE READ transaction: the generation, the banks and the contents of one snapshot.</summary>
    public BankSnapshot ReadBanks(long afterContentId = 0) => InTransaction((c, tx) =>
    {
        var generation = (long)Scalar(c, tx, "SELECT value FROM catalog_meta WHERE key = 'bank_generation'")!;
        List<HashBank> banks;
        using (var cmd = Command(c, tx, $"SELECT {BankColumns} FROM banks ORDER BY name COLLATE \"C\""))
            banks = ReadAll(cmd, ReadBank);
        List<BankContent> contents;
        using (var cmd = Command(c, tx, "SELECT id, bank_id, sha256, pdq, pdq_quality, chromaprint, note, created_at FROM bank_content WHERE id > @after ORDER BY id",
                   ("after", afterContentId)))
            contents = ReadAll(cmd, ReadContent);
        return new BankSnapshot(generation, banks, contents);
    }, IsolationLevel.RepeatableRead);
}
