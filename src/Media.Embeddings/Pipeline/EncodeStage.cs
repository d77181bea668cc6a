using Media.Codecs;
using Media.Codecs.Audio;
using Media.Contracts.V1;
using Media.Embeddings.Encoders;
using Media.Hashing;
using Media.Embeddings.Packs;
using Media.Embeddings.Preprocessing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Media.Embeddings.Pipeline;

/// <summary>Encode-stage settings.</summary>
public sealed record EncodeSettings
{
    /// <summary>Decode at full resolution so PDQ matches the reference hasher bit for bit (slower for large JPEGs); otherwise
    /// one TurboJPEG-scaled decode (≥ 512 on the shortest side) serves PDQ (within a few bits of the reference) and the encoders.</summary>
    public bool ExactPdq { get; init; }
    /// <summary>Largest ONNX Runtime batch.</summary>
    public int MaxBatch { get; init; } = 16;
    /// <summary>Compute PDQ (and decode large enough for it). Off for <c>media embed</c>, which only needs embeddings: JPEGs
    /// then decode straight to the encoders' size.</summary>
    public bool PerceptualHashes { get; init; } = true;
    /// <summary>Items read, decoded, hashed and preprocessed at once across all calls (the CPU side); 0: one per logical core.
    /// Items waiting for their inference batch do not count, so the decoders keep working while a batch runs.</summary>
    public int DecodeParallelism { get; init; }
}

/// <summary>
/// The encode stage of the pipeline, free of any message-bus code: read bytes, SHA-256, skip bytes that are already
/// catalogued (no re-encoding), decode, PDQ with its dihedral hashes, and one embedding per loaded pack through that
/// pack's <see cref="InferenceBatcher"/> (with the class probabilities of packs that have a classifier head). Ingest,
/// <c>media embed</c> and reprocessing all go through it.
/// <para>Overlap: every item of every call runs at once, but only <see cref="EncodeSettings.DecodeParallelism"/> of them
/// hold a core for their CPU side (read, decode, PDQ, preprocess); an item waiting for its inference batch holds none. So
/// while ONNX Runtime runs one batch the decoders fill the next, and the batcher sees as many queued tensors as the
/// callers keep in flight. A rejected item does not affect the others.</para>
/// <para>Bad input is rejected per item with a reason (<see cref="MediaRejectedException"/> from the decoders). Should an
/// item fail in any other way (a decoder bug, a failed inference batch), the failed items are encoded again one by one,
/// alone, after the rest of the call; an item that fails alone too is rejected with the error as its reason and logged.
/// No exception leaves <see cref="EncodeAsync(IReadOnlyList{MediaSubmitted}, bool, CancellationToken)"/> but cancellation, so one guilty item never costs its batch.</para>
/// </summary>
public sealed class EncodeStage : IAsyncDisposable
{
    readonly IReadOnlyList<ModelPack> _packs;
    readonly Func<string, bool> _isCatalogued;
    readonly ImageDecoder _decoder;
    readonly AudioDecoder _audio = new();
    readonly SourceReader _reader;
    readonly EncodeSettings _settings;
    readonly (ModelPack Pack, ClipImagePreprocessor Pre, InferenceBatcher Batcher)[] _imageTowers;
    readonly DecodeOptions _decodeOptions;

    /// <summary>How images are decoded: scaled to the PDQ reference side or the encoders' size, or at full resolution (<see cref="EncodeSettings.ExactPdq"/>, resamplers without antialiasing).</summary>
    public DecodeOptions DecodeOptions => _decodeOptions;
    readonly SemaphoreSlim _cpu;

    readonly ILogger _log;

    /// <param name="packs">The loaded packs; every tower of each is used.</param>
    /// <param name="isCatalogued">Whether bytes with this SHA-256 are catalogued already (they are then not encoded again).</param>
    /// <param name="settings">Decode and batch settings.</param>
    /// <param name="limits">Decoder limits.</param>
    /// <param name="logger">Where unexpected per-item failures are logged.</param>
    public EncodeStage(IReadOnlyList<ModelPack> packs, Func<string, bool> isCatalogued, EncodeSettings? settings = null, DecodeLimits? limits = null, ILogger? logger = null)
    {
        _log = logger ?? NullLogger.Instance;
        _packs = packs;
        _isCatalogued = isCatalogued;
        _settings = settings ?? new EncodeSettings();
        _decoder = new ImageDecoder(limits);
        _reader = new SourceReader(limits);
        _imageTowers = packs.Where(p => p.HasImage)
            .Select(p => (p, new ClipImagePreprocessor(p.Image!.Preprocessing), new InferenceBatcher(p.Image!, _settings.MaxBatch))).ToArray();
        _cpu = new SemaphoreSlim(_settings.DecodeParallelism > 0 ? _settings.DecodeParallelism : Environment.ProcessorCount);
        _decodeOptions = _settings.ExactPdq ? DecodeOptions.FullResolution : ImageDecodeOptions(packs, _settings.PerceptualHashes);
    }

    /// <summary>
    /// How images are decoded for these packs' image towers (and PDQ when <paramref name="perceptualHashes"/>): DCT-scaled
    /// to at least the largest tower's input side (and PDQ's 512 px), or at full resolution when a tower's resampler has no
    /// antialiasing (nsfwjs's align-corners bilinear must see the pixels its reference sees). Ingest decodes with this, and
    /// so does a search by image, so a catalogued file searched for embeds exactly as it did when it was indexed.
    /// </summary>
    public static DecodeOptions ImageDecodeOptions(IEnumerable<ModelPack> packs, bool perceptualHashes = true)
    {
        var towers = packs.Where(p => p.HasImage).Select(p => p.Image!.Preprocessing).ToArray();
        if (towers.Any(t => t.NeedsFullResolution)) return DecodeOptions.FullResolution;
        var encoderSide = towers.Select(t => t.Size).DefaultIfEmpty(0).Max();
        return new DecodeOptions { MinShortSide = perceptualHashes ? Math.Max(PdqHasher.ReferenceSide, encoderSide) : Math.Max(1, encoderSide) };
    }

    /// <summary>Encodes a batch of submissions; one result per submission, in order (<see cref="MediaEncoded.Error"/> set for a rejected one).</summary>
    public Task<MediaEncoded[]> EncodeAsync(IReadOnlyList<MediaSubmitted> submissions, CancellationToken cancel = default) =>
        EncodeAsync(submissions, reencode: false, cancel);

    /// <summary>
    /// As <see cref="EncodeAsync(IReadOnlyList{MediaSubmitted}, CancellationToken)"/>; with <paramref name="reencode"/> bytes
    /// already catalogued are encoded all the same (reprocessing an item with another pack@version). A submission's
    /// <see cref="MediaSubmitted.Packs"/> may name packs as <c>name</c> or <c>name@version</c>.
    /// </summary>
    public async Task<MediaEncoded[]> EncodeAsync(IReadOnlyList<MediaSubmitted> submissions, bool reencode, CancellationToken cancel = default)
    {
        var outcomes = new MediaEncoded[submissions.Count];
        var failed = new System.Collections.Concurrent.ConcurrentBag<int>();
        await Task.WhenAll(Enumerable.Range(0, submissions.Count).Select(i => Task.Run(async () =>
        {
            try { outcomes[i] = await EncodeOneAsync(submissions[i], cancel, reencode); }
            catch (Exception ex) when (ex is not OperationCanceledException) { failed.Add(i); }
        }, cancel)));
        foreach (var i in failed.Order()) outcomes[i] = await EncodeAloneAsync(submissions[i], cancel, reencode);
        return outcomes;
    }

    /// <summary>Whether a submission asks for this pack: no list means every pack; entries are names or <c>name@version</c>.</summary>
    static bool Wanted(MediaSubmitted s, ModelPack pack) =>
        s.Packs is not { Length: > 0 } wanted || wanted.Contains(pack.Name) || wanted.Contains(pack.Key.ToString());

    /// <summary>
    /// Encodes a stream of submissions with at most <paramref name="inFlight"/> of them in flight (so memory does not grow
    /// with the stream) and yields one result per submission in input order. For <c>media embed</c> and reprocessing.
    /// </summary>
    public async IAsyncEnumerable<MediaEncoded> EncodeStreamAsync(IEnumerable<MediaSubmitted> submissions, int inFlight = 64,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel = default)
    {
        var window = new Queue<(MediaSubmitted Submission, Task<MediaEncoded> Encoding)>();
        foreach (var s in submissions)
        {
            if (window.Count >= Math.Max(1, inFlight)) yield return await Finish(window.Dequeue());
            window.Enqueue((s, Task.Run(() => EncodeOneAsync(s, cancel), cancel)));
        }
        while (window.Count > 0) yield return await Finish(window.Dequeue());

        async Task<MediaEncoded> Finish((MediaSubmitted Submission, Task<MediaEncoded> Encoding) item)
        {
            try { return await item.Encoding; }
            catch (Exception ex) when (ex is not OperationCanceledException) { return await EncodeAloneAsync(item.Submission, cancel); }
        }
    }

    /// <summary>Second chance for an item that failed beside others: encoded again alone, or rejected with the error.</summary>
    async Task<MediaEncoded> EncodeAloneAsync(MediaSubmitted s, CancellationToken cancel, bool reencode = false)
    {
        try
        {
            return await EncodeOneAsync(s, cancel, reencode);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _log.LogError(ex, "{Source}: rejected after failing alone too", s.Source.Describe());
            return Rejected(s, $"encoding failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    static MediaEncoded Rejected(MediaSubmitted s, string reason) =>
        new(s.SubmissionId, s.CorrelationId, s.Source.Describe(), "", false, s.Modality ?? Modalities.Image, null, 0, 0, 0, null, 0, null, [], s.Collection, s.Sequence, reason);

    async Task<MediaEncoded> EncodeOneAsync(MediaSubmitted s, CancellationToken cancel, bool reencode = false)
    {
        var path = s.Source.Describe();
        try
        {
            // The CPU side holds one of the decode slots; inference is awaited after releasing it.
            await _cpu.WaitAsync(cancel);
            byte[] bytes;
            string sha;
            DecodedImage decoded;
            PdqResult? pdq;
            List<(ModelPack Pack, InferenceBatcher Batcher, float[] Tensor)> tensors = [];
            try
            {
                bytes = await ReadAsync(s.Source, cancel);
                sha = ContentHash.Sha256Hex(bytes);
                if (!reencode && _isCatalogued(sha))
                    return new MediaEncoded(s.SubmissionId, s.CorrelationId, path, sha, true, Modalities.Image, null, bytes.Length, 0, 0, null, 0, null, [], s.Collection, s.Sequence);
                if (FormatSniffer.Sniff(bytes.AsSpan(0, Math.Min(32, bytes.Length))).IsAudio())
                    return await EncodeAudioAsync(s, path, bytes, sha, cancel);
                decoded = _decoder.Decode(bytes, _decodeOptions);
                pdq = _settings.PerceptualHashes ? PdqHasher.Hash(decoded.Stored) : null;
                foreach (var (pack, pre, batcher) in _imageTowers)
                {
                    if (!Wanted(s, pack)) continue;
                    var tensor = new float[pre.ValuesPerImage];
                    pre.Preprocess(decoded.Image, tensor);
                    tensors.Add((pack, batcher, tensor));
                }
            }
            finally
            {
                _cpu.Release();
            }
            var encodings = await Task.WhenAll(tensors.Select(t => t.Batcher.EncodeAsync(t.Tensor, cancel)));
            var embeddings = tensors.Select((t, i) => new PackEmbedding(t.Pack.Name, t.Pack.Manifest.Version, t.Pack.Manifest.Space, t.Pack.Manifest.Semantic,
                encodings[i].Embedding, t.Pack.Image!.Classification(encodings[i].Probabilities))).ToArray();
            return new MediaEncoded(s.SubmissionId, s.CorrelationId, path, sha, false, Modalities.Image,
                decoded.Format.Name(), bytes.Length, decoded.Width, decoded.Height, pdq?.Hash.ToString(), pdq?.Quality ?? 0,
                pdq?.Dihedral.Select(h => h.ToString()).ToArray(), embeddings, s.Collection, s.Sequence);
        }
        catch (MediaRejectedException ex)
        {
            return Rejected(s, ex.Message);
        }
    }

    /// <summary>Audio: one decode at the file's own rate feeds Chromaprint (which resamples internally) and, resampled, every pack with an audio tower.</summary>
    async Task<MediaEncoded> EncodeAudioAsync(MediaSubmitted s, string path, byte[] bytes, string sha, CancellationToken cancel)
    {
        var clip = _audio.Decode(bytes);
        var fingerprint = AudioFingerprint.Compute(clip);
        var embeddings = new List<PackEmbedding>();
        foreach (var pack in _packs.Where(p => p.HasAudio && Wanted(s, p)))
        {
            var audio = pack.Audio!;
            var vector = await Task.Run(() => audio.Encode(AudioDecoder.Resample(clip, audio.SampleRate).Samples), cancel);
            embeddings.Add(new PackEmbedding(pack.Name, pack.Manifest.Version, pack.Manifest.Space, pack.Manifest.Semantic, vector));
        }
        return new MediaEncoded(s.SubmissionId, s.CorrelationId, path, sha, false, Modalities.Audio, clip.Format.Name(), bytes.Length, 0, 0,
            null, 0, null, embeddings.ToArray(), s.Collection, s.Sequence, DurationSeconds: Math.Round(clip.DurationSeconds, 3), Chromaprint: fingerprint);
    }

    async Task<byte[]> ReadAsync(MediaSource source, CancellationToken cancel)
    {
        if (source.Inline is { } inline)
        {
            if (inline.Length > MediaSource.MaxInlineBytes) throw new MediaRejectedException($"inline payload is {inline.Length} bytes, over the {MediaSource.MaxInlineBytes}-byte limit");
            return inline;
        }
        if (source.Path is { } path) return _reader.ReadFile(path);
        if (source.Uri is { } uri) return await _reader.ReadUriAsync(uri, cancel);
        throw new MediaRejectedException("the submission has no source (path, uri or inline bytes)");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var t in _imageTowers) await t.Batcher.DisposeAsync();
    }
}
