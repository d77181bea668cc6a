using Media.Embeddings.Packs;
using Media.Embeddings.Runtime;
using Media.Embeddings.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Media.Embeddings.Encoders;

/// <summary>
/// Text tower of a pack: CLIP BPE tokens <c>input_ids int64 [B,T]</c> (plus <c>attention_mask</c> when the
/// graph declares one) → unit-norm <c>float32 [B,D]</c>. Batches are padded to the longest text with the pack's pad id.
/// </summary>
public sealed class TextEncoder : OnnxEncoder
{
    readonly TextModality _spec;
    readonly bool _feedMask;
    public ITextTokenizer Tokenizer { get; }

    TextEncoder(EngagedSession session, TextModality spec, ITextTokenizer tokenizer, int dimension, bool feedMask)
        : base(session, spec.Output, dimension)
    {
        _spec = spec; Tokenizer = tokenizer; _feedMask = feedMask;
    }

    internal static TextEncoder Create(EngagedSession session, TextModality spec, ITextTokenizer tokenizer, int dimension, string where) =>
        Validated(session, where, "text", [spec.Input, spec.AttentionMask], () =>
        {
            var inputs = session.Session.InputMetadata;
            ExpectTensor(inputs, "input", spec.Input, TensorElementType.Int64, [-1, -1], where, "text.input");
            var feedMask = inputs.ContainsKey(spec.AttentionMask);
            if (feedMask) ExpectTensor(inputs, "input", spec.AttentionMask, TensorElementType.Int64, [-1, -1], where, "text.attentionMask");
            ExpectTensor(session.Session.OutputMetadata, "output", spec.Output, TensorElementType.Float, [-1, dimension], where, "text.output");
            return new TextEncoder(session, spec, tokenizer, dimension, feedMask);
        });

    /// <summary>Embeds texts; returns one unit vector of length <see cref="OnnxEncoder.Dimension"/> per text.</summary>
    public float[][] Encode(IReadOnlyList<string> texts)
    {
        var result = new List<float[]>(texts.Count);
        for (var start = 0; start < texts.Count; start += MaxBatch)
        {
            var chunk = texts.Skip(start).Take(MaxBatch).ToArray();
            var (ids, mask, seq) = Tokenizer.EncodeBatch(chunk, _spec.Tokenizer.PadId, _spec.Tokenizer.PadToContextLength);
            long[] shape = [chunk.Length, seq];
            using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
            if (_feedMask)
            {
                using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
                result.AddRange(Run([_spec.Input, _spec.AttentionMask], [idsValue, maskValue], chunk.Length));
            }
            else
            {
                result.AddRange(Run([_spec.Input], [idsValue], chunk.Length));
            }
        }
        return result.ToArray();
    }
}
