using Media.Catalog;
using Media.Contracts.V1;
using Media.Domain;
using Media.Hashing;
using Media.Index;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Media.Detection;

/// <summary>
/// Matches every item against the enabled hash banks (<see cref="IHashBankStore"/>; the matcher of ThreatExchange HMA):
/// <list type="bullet">
/// <item>SHA-256: the item's bytes are a bank content's bytes (distance 0, threshold 0);</item>
/// <item>PDQ (images): Hamming distance ≤ <see cref="ModalityPolicy.PdqMaxDistance"/> (31) between any of the item's 8
/// dihedral hashes and a bank content's PDQ hash, when the item's quality and the content's (where known) reach
/// <see cref="ModalityPolicy.PdqMinQuality"/> (50): the catalog's PDQ rule, searched with the same multi-index
/// (<see cref="IndexSettings.NewPdqIndex"/>, by default <see cref="MultiIndexHashing"/>);</item>
/// <item>Chromaprint (audio): bit error rate at the best alignment ≤ <see cref="ModalityPolicy.ChromaprintMaxBitErrorRate"/>
/// (0.20), through an <see cref="AudioFingerprintIndex"/>.</item>
/// </list>
/// Each matching bank gives one flag <c>{kind: bank_match, method, distance, threshold}</c> with the bank's name as
/// <see cref="CatalogFlag.Label"/> and its action as <see cref="CatalogFlag.Action"/>: by SHA-256 when the bytes match,
/// otherwise by the smallest distance found. Flags are ordered by bank name. Bank matches do not depend on the catalog,
/// so they are given to new items and, on the catalogued copy's hashes, to exact duplicates
/// (<see cref="EvaluatesExactDuplicates"/>).
/// <para>The indexes are held in memory, keyed by bank content id. Before each item the rule reads the store's
/// <see cref="IHashBankStore.BankGeneration"/> (one small read); when it changed, banks are re-read and only contents
/// after the last one seen are added, except after a bank was removed, when everything is rebuilt. So a bank created,
/// filled, disabled or removed by another process (<c>media bank</c> beside <c>media serve</c>) applies from the next
/// item on. Disabled banks stay indexed and are filtered out at match time. Thread-safe (calls are serialised).</para>
/// </summary>
public sealed class HashBankRule : IFlagRule
{
    /// <summary>A content's bank and PDQ quality (-1: not known, trusted).</summary>
    readonly record struct Entry(long Bank, int Quality);

    readonly IHashBankStore _store;
    readonly DetectionPolicy _policy;
    readonly Func<IBinaryIndex> _newPdqIndex;
    readonly ILogger _log;
    readonly Lock _gate = new();

    readonly Dictionary<long, Entry> _entries = [];
    readonly Dictionary<string, List<long>> _sha256 = new(StringComparer.Ordinal);
    Dictionary<long, HashBank> _banks = [];
    IBinaryIndex _pdq;
    AudioFingerprintIndex _chromaprint = new();
    long _generation = -1, _lastContentId;

    /// <param name="store">Where the banks are (normally the catalog).</param>
    /// <param name="policy">Thresholds: the image policy's PDQ distance and quality, the audio policy's Chromaprint bit error rate.</param>
    /// <param name="newPdqIndex">Makes the empty 256-bit PDQ index (default: <see cref="MultiIndexHashing"/>, as the catalog's).</param>
    /// <param name="logger">Says when banks are (re)loaded and what they hold.</param>
    public HashBankRule(IHashBankStore store, DetectionPolicy policy, Func<IBinaryIndex>? newPdqIndex = null, ILogger? logger = null)
    {
        _store = store;
        _policy = policy;
        _newPdqIndex = newPdqIndex ?? (() => new MultiIndexHashing(PdqHash.Bits));
        _log = logger ?? NullLogger.Instance;
        _pdq = _newPdqIndex();
    }

    public bool EvaluatesExactDuplicates => true;

    /// <summary>The bank generation the indexes reflect (-1 before the first item).</summary>
    public long Generation { get { lock (_gate) return _generation; } }

    /// <summary>Bank contents held in the indexes (those of disabled banks included).</summary>
    public int IndexedContents { get { lock (_gate) return _entries.Count; } }

    public IEnumerable<CatalogFlag> Evaluate(MediaEncoded item)
    {
        var variants = (item.PdqDihedral ?? (item.Pdq is null ? [] : [item.Pdq])).Select(h => PdqHash.Parse(h).ToBytes()).ToArray();
        return Match(string.IsNullOrEmpty(item.Sha256) ? null : item.Sha256, variants, item.PdqQuality, item.Chromaprint);
    }

    /// <summary>The bank matches of one piece of media, after bringing the indexes up to date.</summary>
    /// <param name="sha256">SHA-256 of the bytes, 64 hex digits (either case), or null.</param>
    /// <param name="pdqVariants">The item's PDQ hashes, 32 bytes each: its 8 dihedral hashes (or only the hash itself).</param>
    /// <param name="pdqQuality">The item's PDQ quality, 0–100.</param>
    /// <param name="chromaprint">The item's raw Chromaprint fingerprint, or null.</param>
    /// <returns>One flag per matching enabled bank, by bank name.</returns>
    public IReadOnlyList<CatalogFlag> Match(string? sha256, IReadOnlyList<byte[]> pdqVariants, int pdqQuality, uint[]? chromaprint)
    {
        lock (_gate)
        {
            Refresh();
            if (!_banks.Values.Any(b => b.Enabled)) return [];
            var best = new Dictionary<long, (string Method, double Distance, double Threshold)>();
            void Offer(long bank, string method, double distance, double threshold)
            {
                if (!best.TryGetValue(bank, out var held) || (held.Method != FlagMethods.Sha256 && (method == FlagMethods.Sha256 || distance < held.Distance)))
                    best[bank] = (method, distance, threshold);
            }

            if (sha256 is not null && _sha256.TryGetValue(sha256.ToLowerInvariant(), out var exact))
                foreach (var id in exact)
                    if (EnabledBank(id) is { } bank) Offer(bank, FlagMethods.Sha256, 0, 0);

            var image = _policy.Image;
            if (pdqVariants.Count > 0 && pdqQuality >= image.PdqMinQuality && _pdq.Count > 0)
            {
                bool Usable(long id) => EnabledBank(id) is not null && _entries[id].Quality is var q && (q < 0 || q >= image.PdqMinQuality);
                foreach (var hits in _pdq.RangeSearchBatch([.. pdqVariants.SelectMany(v => v)], image.PdqMaxDistance, Usable))
                    foreach (var hit in hits)
                        Offer(_entries[hit.Id].Bank, FlagMethods.Pdq, hit.Distance, image.PdqMaxDistance);
            }

            if (chromaprint is { Length: > 0 } && _chromaprint.Count > 0)
            {
                var maxBer = _policy.Audio.ChromaprintMaxBitErrorRate;
                foreach (var (id, match) in _chromaprint.RangeSearch(chromaprint, 1 - maxBer))
                    if (EnabledBank(id) is { } bank) Offer(bank, FlagMethods.Chromaprint, Math.Round(1 - match.Similarity, 6), Math.Round(maxBer, 6));
            }

            return [.. best.Select(b => (Bank: _banks[b.Key], Hit: b.Value))
                .OrderBy(b => b.Bank.Name, StringComparer.Ordinal)
                .Select(b => new CatalogFlag(FlagKind.BankMatch, b.Hit.Method, Distance: b.Hit.Distance, Threshold: b.Hit.Threshold, Label: b.Bank.Name, Action: b.Bank.Action))];
        }
    }

    /// <summary>The id of the content's bank when that bank is enabled; otherwise null.</summary>
    long? EnabledBank(long contentId) =>
        _entries.TryGetValue(contentId, out var e) && _banks.TryGetValue(e.Bank, out var b) && b.Enabled ? e.Bank : null;

    /// <summary>Brings the indexes up to the store's generation: incrementally, or rebuilt when a bank was removed.</summary>
    void Refresh()
    {
        if (_store.BankGeneration == _generation) return;
        var started = System.Diagnostics.Stopwatch.StartNew();
        var snapshot = _store.ReadBanks(_lastContentId);
        var rebuilt = false;
        var present = snapshot.Banks.Select(b => b.Id).ToHashSet();
        if (_banks.Keys.Any(id => !present.Contains(id)))
        {
            Reset();
            snapshot = _store.ReadBanks(0);
            rebuilt = true;
        }
        _banks = snapshot.Banks.ToDictionary(b => b.Id);
        foreach (var c in snapshot.Contents) Add(c);
        _generation = snapshot.Generation;
        _log.LogInformation("hash banks: generation {Generation}, {Banks} banks ({Enabled} enabled), {Contents} contents ({New} {How}) in {Ms:0.0} ms",
            _generation, _banks.Count, _banks.Values.Count(b => b.Enabled), _entries.Count, snapshot.Contents.Count, rebuilt ? "reloaded after a removal" : "new",
            started.Elapsed.TotalMilliseconds);
    }

    void Add(BankContent c)
    {
        _entries[c.Id] = new Entry(c.BankId, c.PdqQuality ?? -1);
        if (c.Sha256 is { Length: 32 } sha)
        {
            var key = Convert.ToHexStringLower(sha);
            if (!_sha256.TryGetValue(key, out var ids)) _sha256[key] = ids = [];
            ids.Add(c.Id);
        }
        if (c.Pdq is { Length: 32 } pdq) _pdq.Add(c.Id, pdq);
        if (c.Chromaprint is { Length: > 0 } fp) _chromaprint.Add(c.Id, fp);
        _lastContentId = Math.Max(_lastContentId, c.Id);
    }

    void Reset()
    {
        (_pdq as IDisposable)?.Dispose();
        _pdq = _newPdqIndex();
        _chromaprint = new AudioFingerprintIndex();
        _entries.Clear();
        _sha256.Clear();
        _banks = [];
        _lastContentId = 0;
    }
}
