using System.Security.Cryptography;
using Media.Codecs;
using Media.Codecs.Audio;
using Media.Contracts.V1;
using Media.Embeddings.Encoders;
using Media.Embeddings.Hashing;
using Media.Embeddings.Packs;
using Media.Embeddings.Preprocessing;

namespace Media.Embeddings.Pipeline;

/// <summary>Encode-stage settings.</summary>
public sealed record EncodeSettings
{
    /// <summary>Decode at full resolution so PDQ matches the reference hasher bit for bit (slower for large JPEGs); otherwise
    /// one TurboJPEG-scaled decode (≥ 512 on the shortest side) serves PDQ (within a few bits of the reference) and the encoders.</summary>
    public bool ExactPdq { get; init; }
    /// <summary>Largest ONNX Runtime batch.</summary>
    public int MaxBatch { get; init; } = 16;
}

/// <summary>
/// The encode stage of the pipeline, free of any message-bus code: read bytes, SHA-256, skip bytes that are already
/// catalogued (no re-encoding), decode, PDQ with its dihedral hashes, and one embedding per loaded pack through that
/// pack's <see cref="InferenceBatcher"/>. Items of a call are processed in parallel; a rejected item does not affect the others.
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

    public EncodeStage(IReadOnlyList<ModelPack> packs, Func<string, bool> isCatalogued, EncodeSettings? settings = null, DecodeLimits? limits = null)
    {
        _packs = packs;
        _isCatalogued = isCatalogued;
        _settings = settings ?? new EncodeSettings();
        _decoder = new ImageDecoder(limits);
        _reader = new SourceReader(limits);
        _imageTowers = packs.Where(p => p.Image is not null)
            .Select(p => (p, new ClipImagePreprocessor(p.Image!.Preprocessing), new InferenceBatcher(p.Image!, _settings.MaxBatch))).ToArray();
        var minSide = Math.Max(512, _imageTowers.Select(t => t.Pack.Image!.Preprocessing.Size).DefaultIfEmpty(0).Max());
        _decodeOptions = _settings.ExactPdq ? DecodeOptions.FullResolution : new DecodeOptions { MinShortSide = minSide };
    }

    /// <summary>Encodes a batch of submissions; one result per submission, in order (<see cref="MediaEncoded.Error"/> set for a rejected one).</summary>
    public async Task<MediaEncoded[]> EncodeAsync(IReadOnlyList<MediaSubmitted> submissions, CancellationToken cancel = default)
    {
        var outcomes = new MediaEncoded[submissions.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, submissions.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancel },
            async (i, ct) => outcomes[i] = await EncodeOneAsync(submissions[i], ct));
        return outcomes;
    }

    async Task<MediaEncoded> EncodeOneAsync(MediaSubmitted s, CancellationToken cancel)
    {
        var path = s.Source.Describe();
        try
        {
            var bytes = await ReadAsync(s.Source, cancel);
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (_isCatalogued(sha))
                return new MediaEncoded(s.SubmissionId, s.CorrelationId, path, sha, true, Modalities.Image, null, bytes.Length, 0, 0, null, 0, null, [], s.Collection, s.Sequence);

            if (FormatSniffer.Sniff(bytes.AsSpan(0, Math.Min(32, bytes.Length))).IsAudio())
                return await EncodeAudioAsync(s, path, bytes, sha, cancel);

            var decoded = _decoder.Decode(bytes, _decodeOptions);
            var pdq = PdqHasher.Hash(decoded.Stored);
            var embeddings = new List<PackEmbedding>();
            foreach (var (pack, pre, batcher) in _imageTowers)
            {
                if (s.Packs is { Length: > 0 } wanted && !wanted.Contains(pack.Name)) continue;
                var tensor = new float[pre.ValuesPerImage];
                pre.Preprocess(decoded.Image, tensor);
                var vector = await batcher.EmbedAsync(tensor, cancel);
                embeddings.Add(new PackEmbedding(pack.Name, pack.Manifest.Version, pack.Manifest.Space, pack.Manifest.Semantic, vector));
            }
            return new MediaEncoded(s.SubmissionId, s.CorrelationId, path, sha, false, Modalities.Image,
                decoded.Format.Name(), bytes.Length, decoded.Width, decoded.Height, pdq.Hash.ToString(), pdq.Quality,
                pdq.Dihedral.Select(h => h.ToString()).ToArray(), embeddings.ToArray(), s.Collection, s.Sequence);
        }
        catch (MediaRejectedException ex)
        {
            return new MediaEncoded(s.SubmissionId, s.CorrelationId, path, "", false, s.Modality ?? Modalities.Image, null, 0, 0, 0, null, 0, null, [], s.Collection, s.Sequence, ex.Message);
        }
    }

    /// <summary>Audio: one decode at the file's own rate feeds Chromaprint (which resamples internally) and, resampled, every pack with an audio tower.</summary>
    async Task<MediaEncoded> EncodeAudioAsync(MediaSubmitted s, string path, byte[] bytes, string sha, CancellationToken cancel)
    {
        var clip = _audio.Decode(bytes);
        var fingerprint = AudioFingerprint.Compute(clip);
        var embeddings = new List<PackEmbedding>();
        foreach (var pack in _packs.Where(p => p.Audio is not null && (s.Packs is not { Length: > 0 } wanted || wanted.Contains(p.Name))))
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
