using System.Text.RegularExpressions;

namespace Media.Catalog;

/// <summary>
/// Hash banks: named lists of known content that every incoming item is matched against, kept apart from the searchable
/// catalog but in the same store (shaped after ThreatExchange HMA's <c>IBankStore</c> in <c>storage/interface.py</c>:
/// a bank holds bank contents, each content holds the signals of one piece of media, and the matcher's indexes are
/// built from the contents' ids). A bank has an action label (<c>review</c>, <c>block</c>, …) that its matches carry,
/// and can be disabled without losing its contents.
/// <para>Contract (checked against every implementation by <c>HashBankContract</c> in the tests):</para>
/// <list type="bullet">
/// <item>Bank names are unique; a removed bank's name can be used again (by a new bank with a new id).</item>
/// <item><see cref="AddToBank"/> is one transaction: every content is written or none is. A content already in the
/// bank (same SHA-256, or for a content without SHA-256 the same PDQ hash) is not written twice.</item>
/// <item>Content ids are assigned at insert, strictly increasing in commit order, never reused, so a reader that has
/// seen every content up to id N finds every later change after N (<see cref="ReadBanks"/>).</item>
/// <item>Every change (create, add that wrote something, enable, disable, remove) increases <see cref="BankGeneration"/>
/// in the same transaction; a reader that saw generation G and now reads G again has seen every change.</item>
/// <item>Changes made by another process are visible to the next call.</item>
/// <item>Implementations are thread-safe.</item>
/// </list>
/// </summary>
public interface IHashBankStore : IDisposable
{
    /// <summary>A counter raised by every change to any bank; cheap to read (a matcher reads it per item).</summary>
    long BankGeneration { get; }

    /// <summary>Creates an empty, enabled bank.</summary>
    /// <param name="name">Its name (<see cref="HashBank.ValidName"/>).</param>
    /// <param name="action">The action label its matches carry (<see cref="HashBank.ValidAction"/>); stored lower-case.</param>
    /// <exception cref="HashBankException">The name or the action is not valid, or a bank of that name exists.</exception>
    HashBank CreateBank(string name, string action);

    /// <summary>Every bank with its counts, by name (ordinal).</summary>
    IReadOnlyList<HashBank> Banks();

    /// <summary>The bank of that name, with its counts, or null.</summary>
    HashBank? FindBank(string name);

    /// <summary>Adds contents to a bank in one transaction (their <see cref="BankContent.Id"/>, <see cref="BankContent.BankId"/>
    /// and <see cref="BankContent.CreatedAt"/> are ignored and assigned).</summary>
    /// <returns>How many were written and how many were already in the bank.</returns>
    /// <exception cref="HashBankException">No such bank.</exception>
    /// <exception cref="ArgumentException">A content has neither SHA-256 nor PDQ, or a hash of the wrong length, or a quality outside 0–100.</exception>
    BankAddResult AddToBank(string name, IReadOnlyList<BankContent> contents);

    /// <summary>Enables or disables matching against a bank; its contents stay. Returns the bank as it is now.</summary>
    /// <exception cref="HashBankException">No such bank.</exception>
    HashBank SetBankEnabled(string name, bool enabled);

    /// <summary>Removes a bank and all its contents. Flags already recorded keep the bank's name.</summary>
    /// <exception cref="HashBankException">No such bank.</exception>
    void RemoveBank(string name);

    /// <summary>
    /// One consistent read of the banks and of the contents with id &gt; <paramref name="afterContentId"/> (in id order),
    /// with the generation they belong to: what a matcher needs to build or bring up to date its indexes.
    /// </summary>
    BankSnapshot ReadBanks(long afterContentId = 0);
}

/// <summary>A hash bank.</summary>
/// <param name="Id">Assigned at creation, never reused.</param>
/// <param name="Name">Unique name.</param>
/// <param name="Action">Action label its matches carry, e.g. <c>review</c> or <c>block</c>.</param>
/// <param name="Enabled">Whether items are matched against it.</param>
/// <param name="CreatedAt">When it was created (UTC).</param>
/// <param name="Contents">Contents it holds.</param>
/// <param name="Sha256">Contents with a SHA-256.</param>
/// <param name="Pdq">Contents with a PDQ hash.</param>
/// <param name="Chromaprint">Contents with a Chromaprint fingerprint.</param>
public sealed partial record HashBank(long Id, string Name, string Action, bool Enabled, DateTimeOffset CreatedAt,
    long Contents = 0, long Sha256 = 0, long Pdq = 0, long Chromaprint = 0)
{
    /// <summary>The action a bank gets when none is given.</summary>
    public const string DefaultAction = "review";

    /// <summary>Bank names: 1–64 characters, letters, digits, <c>_</c>, <c>-</c> and <c>.</c>, starting with a letter or digit.</summary>
    public static bool ValidName(string? name) => name is not null && NamePattern().IsMatch(name);

    /// <summary>Action labels, as the action policy accepts them: 1–64 letters, digits, <c>_</c>, <c>.</c>, <c>:</c> and
    /// <c>-</c>, starting with a letter or digit; compared case-insensitively and stored lower-case. <c>none</c> is valid:
    /// such a bank's matches are flagged but contribute no action.</summary>
    public static bool ValidAction(string? action) => action is not null && ActionPattern().IsMatch(action);

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
    private static partial Regex ActionPattern();
}

/// <summary>
/// The signals of one piece of known content in a bank (HMA's bank content): an imported media file (SHA-256 with PDQ for
/// an image or Chromaprint for audio) or one line of a PDQ list (PDQ only). At least one of <see cref="Sha256"/> and
/// <see cref="Pdq"/> is set.
/// </summary>
/// <param name="Id">Assigned at insert (0 before).</param>
/// <param name="BankId">The bank's id (assigned at insert).</param>
/// <param name="Sha256">SHA-256 of the bytes, 32 bytes, or null.</param>
/// <param name="Pdq">PDQ hash of an image as stored (before EXIF orientation), 32 bytes in the hex form's byte order, or null.</param>
/// <param name="PdqQuality">PDQ quality 0–100, or null when the source did not say (a PDQ list without a quality column): then trusted.</param>
/// <param name="Chromaprint">Raw Chromaprint fingerprint (one 32-bit item per ≈ 0.124 s), or null.</param>
/// <param name="Note">Where it came from: the imported file's path, or a PDQ list line's note.</param>
/// <param name="CreatedAt">When it was added (UTC); set by the store.</param>
public sealed record BankContent(long Id, long BankId, byte[]? Sha256, byte[]? Pdq, int? PdqQuality, uint[]? Chromaprint, string? Note,
    DateTimeOffset CreatedAt = default);

/// <summary>What <see cref="IHashBankStore.AddToBank"/> did.</summary>
/// <param name="Added">Contents written.</param>
/// <param name="AlreadyPresent">Contents skipped because the bank held them already (or they repeated one earlier in the same call).</param>
public sealed record BankAddResult(int Added, int AlreadyPresent);

/// <summary>A consistent read of the banks (<see cref="IHashBankStore.ReadBanks"/>).</summary>
/// <param name="Generation">The <see cref="IHashBankStore.BankGeneration"/> this read reflects.</param>
/// <param name="Banks">Every bank, by name.</param>
/// <param name="Contents">The contents asked for, in id order.</param>
public sealed record BankSnapshot(long Generation, IReadOnlyList<HashBank> Banks, IReadOnlyList<BankContent> Contents);

/// <summary>A bank operation refused: no such bank, a bank of that name exists, or an invalid name or action.</summary>
public sealed class HashBankException(string message) : Exception(message);
