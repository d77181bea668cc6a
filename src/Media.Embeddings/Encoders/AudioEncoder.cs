using Media.Embeddings.Packs;
using Media.Embeddings.Preprocessing;
using Media.Embeddings.Runtime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Media.Embeddings.Encoders;

/// <summary>
/// Audio tower of a CLAP-style pack: mono samples at the pack's rate → clips of <c>clipSeconds</c> → log-mel
/// <c>input_features float32 [B,1,frames,mels]</c> → unit-norm <c>audio_embeds [B,D]</c>. Audio no longer than one clip
/// is padded as the pack says (<c>repeatpad</c>: repeated ⌊clip/len⌋ times, then zero-padded). Longer audio is cut into
/// consecutive clips (a last partial clip of at least 1 s is repeat-padded, a shorter one dropped), every clip is
/// embedded, and the result is the mean of the normalised clip embeddings, normalised again — where Hugging Face's
/// <c>rand_trunc</c> would embed one random clip, this covers the whole file deterministically.
/// </summary>
public sealed class AudioEncoder : OnnxEncoder
{
    readonly AudioModality _spec;
    readonly LogMelSpectrogram _mel;
    readonly int _clipSamples;
    readonly int _frames;

    public AudioPreprocessing Preprocessing => _spec.Preprocess;
    /// <summary>Sample rate the encoder expects, Hz.</summary>
    public int SampleRate => _spec.Preprocess.SampleRate;

    AudioEncoder(EngagedSession session, AudioModality spec, int dimension) : base(session, spec.Output, dimension)
    {
        _spec = spec;
        _mel = new LogMelSpectrogram(spec.Preprocess);
        _clipSamples = (int)Math.Round(spec.Preprocess.ClipSeconds * spec.Preprocess.SampleRate);
        _frames = _mel.Frames(_clipSamples);
        MaxBatch = 8;
    }

    internal static AudioEncoder Create(EngagedSession session, AudioModality spec, int dimension, string where) =>
        Validated(session, where, "audio", [spec.Input], () =>
        {
            var p = spec.Preprocess;
            var frames = 1 + (int)Math.Round(p.ClipSeconds * p.SampleRate) / p.Hop;
            ExpectTensor(session.Session.InputMetadata, "input", spec.Input, TensorElementType.Float, [-1, 1, frames, p.MelBins], where, "audio.input");
            ExpectTensor(session.Session.OutputMetadata, "output", spec.Output, TensorElementType.Float, [-1, dimension], where, "audio.output");
            return new AudioEncoder(session, spec, dimension);
        });

    /// <summary>The clips a signal is embedded as (each exactly one clip long).</summary>
    public List<float[]> Clips(float[] samples)
    {
        var clips = new List<float[]>();
        if (samples.Length <= _clipSamples) { clips.Add(Pad(samples)); return clips; }
        var minTail = _spec.Preprocess.SampleRate;
        for (var start = 0; start < samples.Length; start += _clipSamples)
        {
            var n = Math.Min(_clipSamples, samples.Length - start);
            if (n < _clipSamples && n < minTail) break;
            clips.Add(Pad(samples.AsSpan(start, n).ToArray()));
        }
        return clips;
    }

    float[] Pad(float[] x)
    {
        if (x.Length == _clipSamples) return x;
        var clip = new float[_clipSamples];
        if (x.Length == 0) return clip;
        var repeats = _spec.Preprocess.Padding == "repeatpad" ? Math.Max(1, _clipSamples / x.Length) : 1;
        for (var r = 0; r < repeats; r++) x.CopyTo(clip, r * x.Length);
        return clip;
    }

    /// <summary>Embeds mono samples at <see cref="SampleRate"/>; returns one unit vector of length D.</summary>
    public float[] Encode(float[] samples)
    {
        var clips = Clips(samples);
        var per = _frames * _spec.Preprocess.MelBins;
        var mean = new float[Dimension];
        for (var start = 0; start < clips.Count; start += MaxBatch)
        {
            var n = Math.Min(MaxBatch, clips.Count - start);
            var features = new float[n * per];
            Parallel.For(0, n, i => _mel.Compute(clips[start + i], features.AsSpan(i * per, per)));
            using var value = OrtValue.CreateTensorValueFromMemory(features, [n, 1, _frames, _spec.Preprocess.MelBins]);
            foreach (var v in Run([_spec.Input], [value], n)) System.Numerics.Tensors.TensorPrimitives.Add(mean, v, mean);
        }
        L2Normalize(mean);
        return mean;
    }
}
