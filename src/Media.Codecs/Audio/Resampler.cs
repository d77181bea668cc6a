namespace Media.Codecs.Audio;

/// <summary>
/// Band-limited resampling by windowed-sinc interpolation (J. O. Smith, "Digital Audio Resampling Home Page",
/// CCRMA): each output sample is Σ x[k]·h(t − k) with h a sinc at the lower of the two Nyquist frequencies
/// (cut-off 0.95× for a transition band), windowed by a Kaiser window (β = 8.6, about 80 dB stop-band) over
/// ±32 zero crossings. The kernel is tabulated at 512 points per zero crossing and linearly interpolated.
/// O(output·64) multiply-adds; used for the WAV path (ffmpeg resamples the other formats).
/// </summary>
public static class Resampler
{
    const int ZeroCrossings = 32;
    const int TablePerCrossing = 512;
    const double Beta = 8.6;
    static readonly float[] Kernel = BuildKernel();

    /// <summary>Resamples mono <paramref name="input"/> from <paramref name="fromRate"/> to <paramref name="toRate"/> Hz.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A rate is not positive.</exception>
    public static float[] Resample(float[] input, int fromRate, int toRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fromRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(toRate);
        if (fromRate == toRate) return input;
        var ratio = (double)toRate / fromRate;
        var cutoff = Math.Min(1.0, ratio) * 0.95;      // fraction of the input Nyquist
        var halfWidth = ZeroCrossings / cutoff;          // kernel half-width in input samples
        var output = new float[(int)(((long)input.Length * toRate + fromRate - 1) / fromRate)];
        var scale = cutoff * TablePerCrossing;           // table index per input sample of distance
        for (var n = 0; n < output.Length; n++)
        {
            var t = n / ratio;
            var first = Math.Max(0, (int)Math.Ceiling(t - halfWidth));
            var last = Math.Min(input.Length - 1, (int)Math.Floor(t + halfWidth));
            double acc = 0;
            for (var k = first; k <= last; k++)
            {
                var pos = Math.Abs(k - t) * scale;
                var i = (int)pos;
                if (i >= Kernel.Length - 1) continue;
                var frac = pos - i;
                acc += input[k] * (Kernel[i] + frac * (Kernel[i + 1] - Kernel[i]));
            }
            output[n] = (float)(acc * cutoff);
        }
        return output;
    }

    static float[] BuildKernel()
    {
        var n = ZeroCrossings * TablePerCrossing + 2;
        var table = new float[n];
        var i0Beta = I0(Beta);
        for (var i = 0; i < n; i++)
        {
            var x = (double)i / TablePerCrossing;       // in zero crossings
            var w = Math.Min(1, x / ZeroCrossings);
            var window = I0(Beta * Math.Sqrt(1 - w * w)) / i0Beta;
            table[i] = (float)((x == 0 ? 1 : Math.Sin(Math.PI * x) / (Math.PI * x)) * window);
        }
        return table;
    }

    /// <summary>Modified Bessel function of the first kind, order 0 (power series).</summary>
    static double I0(double x)
    {
        double sum = 1, term = 1, q = x * x / 4;
        for (var k = 1; k < 60 && term > 1e-14 * sum; k++)
        {
            term *= q / ((double)k * k);
            sum += term;
        }
        return sum;
    }
}
