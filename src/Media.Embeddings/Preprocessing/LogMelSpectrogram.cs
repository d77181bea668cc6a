using System.Numerics;
using Media.Embeddings.Packs;

namespace Media.Embeddings.Preprocessing;

/// <summary>
/// Log-mel spectrogram as Hugging Face's <c>ClapFeatureExtractor</c> computes it for non-fusion CLAP models
/// (<c>audio_utils.spectrogram</c> + <c>mel_filter_bank</c>): frames of <c>nFft</c> samples every <c>hop</c>, centred
/// (reflect-padded by nFft/2 at both ends), periodic Hann window, |FFT|² (power 2), triangular mel filters between
/// fMin and fMax on the Slaney (or HTK) mel scale with Slaney area normalisation, and 10·log10(max(1e−10, ·)) dB.
/// Output: <c>[frames, melBins]</c> row-major, frames = 1 + samples / hop. Thread-safe.
/// </summary>
public sealed class LogMelSpectrogram
{
    readonly AudioPreprocessing _p;
    readonly float[] _window;
    readonly float[] _filters; // [bins, mels]
    readonly int _bins;

    public LogMelSpectrogram(AudioPreprocessing p)
    {
        if (!BitOperations.IsPow2(p.NFft)) throw new ArgumentException("nFft must be a power of two", nameof(p));
        _p = p;
        _bins = p.NFft / 2 + 1;
        _window = new float[p.NFft];
        for (var n = 0; n < p.NFft; n++) _window[n] = (float)(0.5 - 0.5 * Math.Cos(2 * Math.PI * n / p.NFft));
        _filters = MelFilterBank(_bins, p.MelBins, p.FMin, p.FMax, p.SampleRate, p.MelScale, p.MelNorm);
    }

    /// <summary>Frames produced for <paramref name="samples"/> samples.</summary>
    public int Frames(int samples) => 1 + samples / _p.Hop;

    /// <summary>Writes <c>[Frames(samples.Length), melBins]</c> log-mel values into <paramref name="output"/>.</summary>
    public void Compute(ReadOnlySpan<float> samples, Span<float> output)
    {
        int nFft = _p.NFft, half = nFft / 2, mels = _p.MelBins, frames = Frames(samples.Length);
        var re = new double[nFft];
        var im = new double[nFft];
        var power = new double[_bins];
        for (var f = 0; f < frames; f++)
        {
            var start = f * _p.Hop - half;
            for (var n = 0; n < nFft; n++)
            {
                re[n] = Reflect(samples, start + n) * _window[n];
                im[n] = 0;
            }
            Fft(re, im);
            for (var k = 0; k < _bins; k++) power[k] = re[k] * re[k] + im[k] * im[k];
            for (var m = 0; m < mels; m++)
            {
                double e = 0;
                for (var k = 0; k < _bins; k++) e += power[k] * _filters[k * mels + m];
                output[f * mels + m] = (float)(_p.PowerToDb ? 10 * Math.Log10(Math.Max(1e-10, e)) : e);
            }
        }
    }

    /// <summary>numpy.pad(mode="reflect"): the signal mirrored about its first and last sample.</summary>
    static float Reflect(ReadOnlySpan<float> x, int i)
    {
        if (x.Length == 1) return x[0];
        var period = 2 * (x.Length - 1);
        i = ((i % period) + period) % period;
        return x[i < x.Length ? i : period - i];
    }

    /// <summary>In-place iterative radix-2 Cooley–Tukey FFT.</summary>
    static void Fft(double[] re, double[] im)
    {
        var n = re.Length;
        for (int i = 1, j = 0; i < n; i++)
        {
            var bit = n >> 1;
            for (; (j & bit) != 0; bit >>= 1) j ^= bit;
            j ^= bit;
            if (i < j) { (re[i], re[j]) = (re[j], re[i]); (im[i], im[j]) = (im[j], im[i]); }
        }
        for (var len = 2; len <= n; len <<= 1)
        {
            var angle = -2 * Math.PI / len;
            double wr = Math.Cos(angle), wi = Math.Sin(angle);
            for (var i = 0; i < n; i += len)
            {
                double cr = 1, ci = 0;
                for (var j = 0; j < len / 2; j++)
                {
                    int a = i + j, b = a + len / 2;
                    double tr = re[b] * cr - im[b] * ci, ti = re[b] * ci + im[b] * cr;
                    re[b] = re[a] - tr; im[b] = im[a] - ti;
                    re[a] += tr; im[a] += ti;
                    (cr, ci) = (cr * wr - ci * wi, cr * wi + ci * wr);
                }
            }
        }
    }

    /// <summary>Hugging Face <c>mel_filter_bank</c>: <c>[bins, mels]</c> triangular filters, optionally Slaney-normalised.</summary>
    public static float[] MelFilterBank(int bins, int mels, double fMin, double fMax, int sampleRate, string scale, string? norm)
    {
        var melMin = HzToMel(fMin, scale);
        var melMax = HzToMel(fMax, scale);
        var edges = new double[mels + 2];
        for (var i = 0; i < edges.Length; i++) edges[i] = MelToHz(melMin + (melMax - melMin) * i / (mels + 1), scale);
        var filters = new float[bins * mels];
        for (var k = 0; k < bins; k++)
        {
            var f = (double)(sampleRate / 2) * k / (bins - 1);
            for (var m = 0; m < mels; m++)
            {
                var down = (f - edges[m]) / (edges[m + 1] - edges[m]);
                var up = (edges[m + 2] - f) / (edges[m + 2] - edges[m + 1]);
                var w = Math.Max(0, Math.Min(down, up));
                if (norm == "slaney") w *= 2.0 / (edges[m + 2] - edges[m]);
                filters[k * mels + m] = (float)w;
            }
        }
        return filters;
    }

    /// <summary>Hertz to mels: HTK 2595·log10(1 + f/700), or Slaney (linear to 1 kHz, logarithmic above).</summary>
    public static double HzToMel(double hz, string scale) => scale == "htk"
        ? 2595 * Math.Log10(1 + hz / 700)
        : hz < 1000 ? 3 * hz / 200 : 15 + Math.Log(hz / 1000) * 27 / Math.Log(6.4);

    public static double MelToHz(double mel, string scale) => scale == "htk"
        ? 700 * (Math.Pow(10, mel / 2595) - 1)
        : mel < 15 ? 200 * mel / 3 : 1000 * Math.Exp(Math.Log(6.4) * (mel - 15) / 27);
}
