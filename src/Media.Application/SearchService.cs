using Media.Codecs;
using Media.Codecs.Audio;
using Media.Contracts.V1;
using Media.Detection;
using Media.Embeddings.Encoders;
using Media.Embeddings.Packs;
using Media.Embeddings.Pipeline;

namespace Media.Application;

/// <summary>
/// Answers searches: embeds the query (text through a pack's text tower, an image through its image tower) and
/// returns the indexed items nearest by cosine similarity in that pack's space. When no pack is named, every loaded
/// pack that can embed the query answers (a text query reaches images through CLIP-style packs and audio through
/// CLAP-style ones) and the hits are merged by their raw cosine similarity. Scores from different embedding spaces are
/// <b>not</b> calibrated against each other — a 0.3 in one space is not a 0.3 in another — so every hit names the pack
/// whose space produced it, and callers who need comparable scores search one pack at a time. A text query to packs
/// without a text tower (an image classifier pack such as <c>nsfw-mobilenet-v2</c>) fails with
/// "pack X has no text tower; it cannot embed text". A query by <see cref="SearchRequest.MediaId"/> reuses the item's
/// stored embeddings (no inference) and leaves the item itself out.
/// </summary>
/// <param name="store">The indexes.</param>
/// <param name="packs">The loaded packs.</param>
/// <param name="decoder">Decodes query images.</param>
/// <param name="isActive">Whether a loaded pack@version is its name's active version (<see cref="ActivePacks"/>); only active
/// versions answer. Null: every loaded pack does.</param>
public sealed class SearchService(IndexedCatalog store, IReadOnlyList<ModelPack> packs, ImageDecoder? decoder = null, Func<Media.Domain.PackKey, bool>? isActive = null)
{
    readonly ImageDecoder _decoder = decoder ?? new ImageDecoder();

    /// <summary>Runs a search; a bad request yields a response with <c>Error</c> set and no results.</summary>
    public SearchResponse Search(SearchRequest request)
    {
        // A shared catalog: answer with every item whose detect transaction committed before this request (any node's).
        if (store.Catalog is Media.Catalog.ISharedCatalog) store.Refresh();
        try
        {
            var hasText = !string.IsNullOrWhiteSpace(request.Text);
            var hasImage = request.Image is not null || request.ImagePath is not null;
            var hasAudio = request.Audio is not null || request.AudioPath is not null;
            var hasItem = request.MediaId is not null;
            if ((hasText ? 1 : 0) + (hasImage ? 1 : 0) + (hasAudio ? 1 : 0) + (hasItem ? 1 : 0) != 1) return Fail("give exactly one of a text, an image, an audio query or a media id");
            if (request.K is < 1 or > 1000) return Fail($"k must be 1–1000, got {request.K}");
            var candidates = packs.Where(p => (request.Pack is null || p.Name == request.Pack) && (isActive is null || isActive(p.Key))).ToArray();
            if (candidates.Length == 0) return Fail(request.Pack is null ? "no model pack is loaded" : $"no loaded pack is named '{request.Pack}'");

            if (hasItem) return SearchByItem(request, candidates);
            var hits = new List<SearchHit>();
            var image = hasImage ? DecodeQuery(request, candidates) : null;
            var audioBytes = hasAudio ? request.Audio ?? new SourceReader(_decoder.Limits).ReadFile(request.AudioPath!) : null;
            var answered = false;
            foreach (var pack in candidates)
            {
                float[]? query = null;
                if (hasText && pack.Text is not null) query = pack.Text.Encode([request.Text!])[0];
                if (image is not null && pack.Image is not null) query = new ImagePipeline(pack.Image).Embed([image])[0];
                if (audioBytes is not null && pack.Audio is not null) query = pack.Audio.Encode(new AudioDecoder().Decode(audioBytes, pack.Audio.SampleRate).Samples);
                if (query is null) continue;
                answered = true;
                if (store.Space(pack.Key) is not { } space) continue;
                Func<long, bool>? filter = request.Modality is null ? null : seq => store.HasModality(seq, request.Modality);
                foreach (var h in space.Index.Search(query, request.K, filter))
                {
                    if (store.Find(h.Id) is { } m) hits.Add(new SearchHit(m.Id, store.PathOf(h.Id) ?? "", m.Modality, Math.Round(h.Similarity, 6), pack.Name, pack.Manifest.Version));
                }
            }
            if (!answered && hasText)
                return Fail(candidates.Length == 1 ? ModelPack.NoTextTower(candidates[0].Name)
                    : $"no loaded pack can embed a text query: {string.Join("; ", candidates.Select(p => ModelPack.NoTextTower(p.Name)))}");
            if (!answered) return Fail($"no loaded pack can embed {(hasImage ? "an image" : "an audio")} query");
            var merged = hits.GroupBy(h => h.Id).Select(g => g.MaxBy(h => h.Score)!).OrderByDescending(h => h.Score).Take(request.K).ToArray();
            return new SearchResponse(merged);
        }
        catch (MediaRejectedException ex)
        {
            return Fail($"query image rejected: {ex.Message}");
        }
    }

    /// <summary>
    /// "More like this": the item's stored embedding in each candidate pack's space is the query; the item itself is left
    /// out. Fails when the id is not catalogued or has no embedding in any candidate pack.
    /// </summary>
    SearchResponse SearchByItem(SearchRequest request, ModelPack[] candidates)
    {
        if (store.Find(request.MediaId!) is not { } item) return Fail($"no catalogued item has id '{request.MediaId}'");
        var hits = new List<SearchHit>();
        var embedded = false;
        foreach (var pack in candidates)
        {
            if (store.Space(pack.Key) is not { } space) continue;
            var query = new float[space.Index.Dimension];
            if (!space.Index.TryGetVector(item.Seq, query)) continue;
            embedded = true;
            Func<long, bool> filter = request.Modality is null ? seq => seq != item.Seq : seq => seq != item.Seq && store.HasModality(seq, request.Modality);
            foreach (var h in space.Index.Search(query, request.K, filter))
            {
                if (store.Find(h.Id) is { } m) hits.Add(new SearchHit(m.Id, store.PathOf(h.Id) ?? "", m.Modality, Math.Round(h.Similarity, 6), pack.Name));
            }
        }
        if (!embedded) return Fail($"item {item.Id} has no embedding in {(candidates.Length == 1 ? $"pack {candidates[0].Name}" : "any loaded pack")}");
        return new SearchResponse([.. hits.GroupBy(h => h.Id).Select(g => g.MaxBy(h => h.Score)!).OrderByDescending(h => h.Score).Take(request.K)]);
    }

    /// <summary>Decodes the query image once, as ingest decodes for these packs (<see cref="EncodeStage.ImageDecodeOptions"/>):
    /// the same pixels give the same embedding, so a catalogued file finds itself with similarity 1.</summary>
    RgbImage DecodeQuery(SearchRequest r, IEnumerable<ModelPack> candidates)
    {
        var bytes = r.Image ?? new SourceReader(_decoder.Limits).ReadFile(r.ImagePath!);
        return _decoder.Decode(bytes, EncodeStage.ImageDecodeOptions(candidates)).Image;
    }

    static SearchResponse Fail(string error) => new([], error);
}
