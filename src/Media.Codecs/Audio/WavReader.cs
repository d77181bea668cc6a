using System.Buffers.Binary;

namespace Media.Codecs.Audio;

/// <summary>
/// RIFF/WAVE parser (Microsoft "Multimedia Programming Interface and Data Specifications 1.0"; WAVE_FORMAT_EXTENSIBLE
/// per the Windows SDK's KSDATAFORMAT_SUBTYPE_PCM/IEEE_FLOAT): integer PCM of 8 (unsigned), 16, 24 and 32 bits and
/// IEEE float of 32 and 64 bits, any channel count, downmixed to mono by averaging. Chunks are walked with their
/// word alignment; a data chunk that claims more bytes than the file holds (a lying or truncated header) is rejected,
/// and so is a float sample that is NaN or infinite. Every size and offset read from the file is bounds-checked before
/// it is used, so any input either decodes or throws <see cref="MediaRejectedException"/>.
/// </summary>
public static class WavReader
{
    static readonly Guid SubtypePcm = new("00000001-0000-0010-8000-00aa00389b71");
    static readonly Guid SubtypeFloat = new("00000003-0000-0010-8000-00aa00389b71");

    /// <exception cref="MediaRejectedException">Malformed, unsupported or truncated.</exception>
    public static AudioClip Read(ReadOnlySpan<byte> wav, AudioLimits limits)
    {
        if (wav.Length < 12 || !wav.StartsWith("RIFF"u8) || !wav[8..12].SequenceEqual("WAVE"u8)) throw new MediaRejectedException("not a RIFF/WAVE file");
        int channels = 0, bits = 0, tag = 0, blockAlign = 0;
        uint rate = 0;
        var haveFmt = false;
        // Offsets are long: a chunk size is any 32-bit value a file declares, and adding it to an int offset must not wrap.
        long pos = 12;
        ReadOnlySpan<byte> data = default;
        var haveData = false;
        while (pos + 8 <= wav.Length)
        {
            var at = (int)pos;
            var id = wav.Slice(at, 4);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(wav.Slice(at + 4, 4));
            var body = at + 8;
            var available = wav.Length - body;
            if (id.SequenceEqual("fmt "u8))
            {
                if (size < 16) throw new MediaRejectedException($"corrupt WAV: fmt chunk of {size} bytes (at least 16 needed)");
                if (size > available) throw new MediaRejectedException($"corrupt WAV: the fmt chunk declares {size} bytes but only {available} follow");
                var fmt = wav.Slice(body, (int)size);
                tag = BinaryPrimitives.ReadUInt16LittleEndian(fmt);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(fmt[2..]);
                rate = BinaryPrimitives.ReadUInt32LittleEndian(fmt[4..]);
                blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(fmt[12..]);
                bits = BinaryPrimitives.ReadUInt16LittleEndian(fmt[14..]);
                if (tag == 0xFFFE)
                {
                    if (size < 40) throw new MediaRejectedException("corrupt WAV: WAVE_FORMAT_EXTENSIBLE without its extension");
                    var sub = new Guid(fmt.Slice(24, 16));
                    tag = sub == SubtypePcm ? 1 : sub == SubtypeFloat ? 3 : throw new MediaRejectedException($"unsupported WAV subformat {sub}");
                }
                haveFmt = true;
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (size > available)
                    throw new MediaRejectedException($"corrupt WAV: the data chunk declares {size} bytes but only {available} follow (truncated file or lying header)");
                data = wav.Slice(body, (int)size);
                haveData = true;
                break;
            }
            pos = body + (long)size + (size & 1); // chunks are word-aligned
        }
        if (!haveFmt) throw new MediaRejectedException(haveData ? "corrupt WAV: no fmt chunk before the data" : "corrupt WAV: no fmt chunk");
        if (!haveData) throw new MediaRejectedException("corrupt WAV: no data chunk");
        if (channels == 0) throw new MediaRejectedException("corrupt WAV: the fmt chunk declares 0 channels");
        if (rate is < 1000 or > 768000) throw new MediaRejectedException($"WAV sample rate {rate} Hz is not plausible");
        if (!(tag == 1 && bits is 8 or 16 or 24 or 32) && !(tag == 3 && bits is 32 or 64))
            throw new MediaRejectedException($"unsupported WAV encoding (format tag {tag}, {bits} bits)");
        var bytesPerSample = bits / 8;
        if (blockAlign != channels * bytesPerSample) throw new MediaRejectedException($"corrupt WAV: block align {blockAlign} does not match {channels} channels of {bits} bits");
        var frames = data.Length / blockAlign;
        if (frames / (double)rate > limits.MaxDurationSeconds) throw new MediaRejectedException($"audio is {frames / (double)rate:0.#} s, over the {limits.MaxDurationSeconds} s limit");
        if (frames == 0) throw new MediaRejectedException("WAV has no samples");

        var mono = new float[frames];
        for (var f = 0; f < frames; f++)
        {
            double sum = 0;
            for (var c = 0; c < channels; c++)
            {
                var s = data.Slice((f * channels + c) * bytesPerSample, bytesPerSample);
                sum += (tag, bits) switch
                {
                    (1, 8) => (s[0] - 128) / 128.0,
                    (1, 16) => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768.0,
                    (1, 24) => ((s[0] | s[1] << 8 | s[2] << 16) << 8 >> 8) / 8388608.0,
                    (1, 32) => BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648.0,
                    (3, 32) => BinaryPrimitives.ReadSingleLittleEndian(s),
                    _ => BinaryPrimitives.ReadDoubleLittleEndian(s),
                };
            }
            var sample = (float)(sum / channels);
            if (!float.IsFinite(sample)) throw new MediaRejectedException($"corrupt WAV: frame {f} holds a non-finite float sample");
            mono[f] = sample;
        }
        return new AudioClip(mono, (int)rate, MediaFormat.Wav);
    }
}
