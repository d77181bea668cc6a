using System.Buffers.Binary;
using Media.Codecs;

namespace Media.Tests.Codecs;

/// <summary>A real media file the hostile inputs are made from.</summary>
/// <param name="Name">Where it came from, e.g. <c>photo-q2821.png</c>.</param>
/// <param name="Format">Its sniffed format.</param>
/// <param name="Bytes">Its bytes (never modified).</param>
sealed record MediaSample(string Name, MediaFormat Format, byte[] Bytes)
{
    /// <summary>The file extension a user would give it, without the dot.</summary>
    public string Extension => Format switch
    {
        MediaFormat.Jpeg => "jpg", MediaFormat.Tiff => "tiff", MediaFormat.Ogg => "ogg",
        _ => Format.Name(),
    };
}

/// <summary>How a hostile input is made from a real one.</summary>
public enum MutationKind
{
    /// <summary>Cut at a random point (half the time inside the first 512 bytes, where the headers are).</summary>
    Truncate,
    /// <summary>One random bit flipped.</summary>
    FlipBits1,
    /// <summary>8 random bits flipped.</summary>
    FlipBits8,
    /// <summary>64 random bits flipped.</summary>
    FlipBits64,
    /// <summary>1–256 random bytes inserted at, or written over, a random point.</summary>
    Splice,
    /// <summary>A header field (a size, a dimension, an offset, a count, a rate) overwritten with 0, 1, all ones, the most negative or most positive value, or a random one.</summary>
    HeaderField,
    /// <summary>The format's real signature (and sometimes more of the real header) followed by 0–8 KiB of random bytes.</summary>
    NoiseBehindSignature,
    /// <summary>A zero-length file.</summary>
    Empty,
    /// <summary>A one-byte file (the real first byte, or a random one).</summary>
    OneByte,
}

/// <summary>
/// Deterministic hostile inputs made from real media: the photos in <c>../shared/pdq/images</c> (JPEG) re-encoded with ffmpeg to
/// PNG, WebP, GIF, BMP and TIFF, the repository's codec fixtures (EXIF, CMYK, palette, alpha, 16-bit), and espeak-ng speech as WAV
/// (16-bit mono, 24-bit stereo WAVE_FORMAT_EXTENSIBLE, float, 8-bit) transcoded to MP3, FLAC and Ogg Vorbis. The real media is
/// made once per process (nine tool runs for <see cref="Write"/>'s formats, five more for the others: a few seconds); every
/// hostile file after that is an in-memory mutation of it, so 300 files take about 0.2 s. The same seed gives the same bytes with the same toolchain (ffmpeg, espeak-ng).
/// </summary>
static class HostileCorpus
{
    static readonly Lazy<IReadOnlyList<MediaSample>> CorpusSamples = new(MakeCorpusSamples);
    static readonly Lazy<IReadOnlyList<MediaSample>> OtherSamples = new(MakeOtherSamples);

    /// <summary>Every real sample, each format at least once.</summary>
    public static IReadOnlyList<MediaSample> Samples => [.. CorpusSamples.Value, .. OtherSamples.Value];

    /// <summary>The real samples of <paramref name="formats"/> (only the <see cref="CorpusFormats"/> ones are made when that is all that is asked for).</summary>
    public static MediaSample[] Of(params MediaFormat[] formats) =>
        (formats.All(CorpusFormats.Contains) ? CorpusSamples.Value : Samples).Where(s => formats.Contains(s.Format)).ToArray();

    /// <summary>Formats of the corpus <see cref="Write"/> makes: what users upload most.</summary>
    public static readonly MediaFormat[] CorpusFormats = [MediaFormat.Jpeg, MediaFormat.Png, MediaFormat.WebP, MediaFormat.Wav, MediaFormat.Mp3];

    /// <summary>
    /// Writes <paramref name="count"/> hostile files into <paramref name="dir"/> (created if missing) and returns their paths, in order.
    /// Mutation kinds take turns (so every kind is present once <paramref name="count"/> ≥ 9) over real JPEG, PNG, WebP, WAV and MP3
    /// sources chosen by <paramref name="seed"/> (a format, then one of its sources, so each format is about a fifth); each file keeps its source's extension (<c>.jpg .png .webp .wav .mp3</c>) and is named
    /// <c>NNNN-kind-source.ext</c>. The same seed and count give the same files.
    /// </summary>
    public static string[] Write(string dir, int seed, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Directory.CreateDirectory(dir);
        var sources = CorpusFormats.Select(f => Of(f)).ToArray();
        var kinds = Enum.GetValues<MutationKind>();
        var rng = new Random(seed);
        var paths = new string[count];
        for (var i = 0; i < count; i++)
        {
            var kind = kinds[i % kinds.Length];
            var ofFormat = sources[rng.Next(sources.Length)];
            var source = ofFormat[rng.Next(ofFormat.Length)];
            var (bytes, _) = Mutate(source, kind, rng);
            paths[i] = Path.Combine(dir, $"{i:D4}-{kind.ToString().ToLowerInvariant()}-{Path.GetFileNameWithoutExtension(source.Name)}.{source.Extension}");
            File.WriteAllBytes(paths[i], bytes);
        }
        return paths;
    }

    /// <summary>One hostile input made from <paramref name="source"/>, and a description of what was done (for failure messages).</summary>
    public static (byte[] Bytes, string What) Mutate(MediaSample source, MutationKind kind, Random rng)
    {
        var src = source.Bytes;
        switch (kind)
        {
            case MutationKind.Empty:
                return ([], "empty file");
            case MutationKind.OneByte:
            {
                var b = rng.Next(2) == 0 ? src[0] : (byte)rng.Next(256);
                return ([b], $"one byte 0x{b:X2}");
            }
            case MutationKind.Truncate:
            {
                var n = rng.Next(2) == 0 ? rng.Next(Math.Min(src.Length, 512)) : rng.Next(src.Length);
                return (src[..n], $"truncated to {n} of {src.Length} bytes");
            }
            case MutationKind.FlipBits1 or MutationKind.FlipBits8 or MutationKind.FlipBits64:
            {
                var count = kind switch { MutationKind.FlipBits1 => 1, MutationKind.FlipBits8 => 8, _ => 64 };
                var bytes = (byte[])src.Clone();
                var flipped = new List<string>();
                for (var i = 0; i < count; i++)
                {
                    var at = Position(rng, bytes.Length);
                    var bit = rng.Next(8);
                    bytes[at] ^= (byte)(1 << bit);
                    if (flipped.Count < 8) flipped.Add($"{at}.{bit}");
                }
                return (bytes, $"{count} bit(s) flipped at byte.bit {string.Join(' ', flipped)}{(count > 8 ? " …" : "")}");
            }
            case MutationKind.Splice:
            {
                var noise = new byte[rng.Next(1, 257)];
                rng.NextBytes(noise);
                var at = Position(rng, src.Length);
                if (rng.Next(2) == 0)
                    return ([.. src.AsSpan(0, at), .. noise, .. src.AsSpan(at)], $"{noise.Length} random bytes inserted at {at}");
                var bytes = (byte[])src.Clone();
                var n = Math.Min(noise.Length, bytes.Length - at);
                noise.AsSpan(0, n).CopyTo(bytes.AsSpan(at));
                return (bytes, $"{n} random bytes written over {at}");
            }
            case MutationKind.HeaderField:
            {
                var fields = HeaderFields(source);
                var f = fields[rng.Next(fields.Count)];
                var bytes = (byte[])src.Clone();
                var (value, name) = rng.Next(6) switch
                {
                    0 => (0UL, "0"),
                    1 => (1UL, "1"),
                    2 => (ulong.MaxValue, "all ones"),
                    3 => (1UL << (8 * f.Width - 1), "most negative"),
                    4 => ((1UL << (8 * f.Width - 1)) - 1, "most positive"),
                    _ => ((ulong)rng.NextInt64(), "random"),
                };
                for (var i = 0; i < f.Width; i++)
                {
                    var shift = 8 * (f.BigEndian ? f.Width - 1 - i : i);
                    bytes[f.Offset + i] = (byte)(value >> shift);
                }
                return (bytes, $"header field {f.Name} ({f.Width} bytes at {f.Offset}) set to {name} (0x{Convert.ToHexString(bytes, f.Offset, f.Width)})");
            }
            case MutationKind.NoiseBehindSignature:
            {
                var signature = SignatureLength(source);
                // Sometimes keep more of the real header, so the noise starts past what a parser checks first.
                var keep = rng.Next(3) == 0 ? rng.Next(signature, Math.Min(src.Length, 512) + 1) : signature;
                var noise = new byte[rng.Next(0, 8193)];
                rng.NextBytes(noise);
                return ([.. src.AsSpan(0, keep), .. noise], $"{keep} real bytes then {noise.Length} random bytes");
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    /// <summary>A random byte position, half the time in the first 1 KiB where the headers are.</summary>
    static int Position(Random rng, int length) => rng.Next(2) == 0 ? rng.Next(Math.Min(length, 1024)) : rng.Next(length);

    /// <summary>How many leading bytes identify the format (what <see cref="FormatSniffer"/> looks at).</summary>
    static int SignatureLength(MediaSample s) => s.Format switch
    {
        MediaFormat.Jpeg => 3,
        MediaFormat.Png => 8,
        MediaFormat.WebP or MediaFormat.Wav => 12,
        MediaFormat.Gif => 6,
        MediaFormat.Bmp => 14,
        MediaFormat.Tiff or MediaFormat.Flac or MediaFormat.Ogg => 4,
        MediaFormat.Mp3 => s.Bytes.AsSpan().StartsWith("ID3"u8) ? 10 : 4,
        _ => 4,
    };

    /// <summary>A header field: <paramref name="Width"/> bytes at <paramref name="Offset"/>.</summary>
    readonly record struct Field(string Name, int Offset, int Width, bool BigEndian);

    /// <summary>The size, dimension, offset, count and rate fields of a sample's headers, found by walking its structure.</summary>
    static List<Field> HeaderFields(MediaSample s)
    {
        var b = s.Bytes;
        var fields = new List<Field>();
        void Add(string name, int offset, int width, bool big)
        {
            if (offset >= 0 && offset + width <= b.Length) fields.Add(new Field(name, offset, width, big));
        }
        switch (s.Format)
        {
            case MediaFormat.Jpeg:
                for (var pos = 2; pos + 4 <= b.Length && b[pos] == 0xFF;)
                {
                    var marker = b[pos + 1];
                    if (marker is 0xD9 or 0xDA)
                    {
                        if (marker == 0xDA) { Add("SOS length", pos + 2, 2, true); Add("SOS components", pos + 4, 1, true); Add("SOS table selectors", pos + 6, 1, true); }
                        break;
                    }
                    var length = BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(pos + 2));
                    Add($"marker {marker:X2} length", pos + 2, 2, true);
                    if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
                    {
                        Add("SOF precision", pos + 4, 1, true);
                        Add("SOF height", pos + 5, 2, true);
                        Add("SOF width", pos + 7, 2, true);
                        Add("SOF components", pos + 9, 1, true);
                        for (var c = 0; c < 3; c++) { Add($"SOF component {c} sampling", pos + 11 + 3 * c, 1, true); Add($"SOF component {c} quant table", pos + 12 + 3 * c, 1, true); }
                    }
                    if (marker is 0xC4 or 0xDB) Add($"marker {marker:X2} table class/id", pos + 4, 1, true);
                    if (marker == 0xDD) Add("DRI interval", pos + 4, 2, true);
                    if (marker == 0xE1 && b.AsSpan(pos + 4).StartsWith("Exif\0\0"u8))
                    {
                        var tiff = pos + 10;
                        var little = b[tiff] == (byte)'I';
                        Add("EXIF IFD0 offset", tiff + 4, 4, !little);
                        var ifd = tiff + (int)(little ? BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(tiff + 4)) : BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(tiff + 4)));
                        Add("EXIF entry count", ifd, 2, !little);
                        for (var e = 0; e < 4; e++)
                        {
                            Add($"EXIF entry {e} tag", ifd + 2 + 12 * e, 2, !little);
                            Add($"EXIF entry {e} count", ifd + 2 + 12 * e + 4, 4, !little);
                            Add($"EXIF entry {e} value", ifd + 2 + 12 * e + 8, 4, !little);
                        }
                    }
                    pos += 2 + length;
                }
                break;
            case MediaFormat.Png:
                for (var pos = 8; pos + 8 <= b.Length;)
                {
                    var length = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(pos)), int.MaxValue - 12);
                    var type = System.Text.Encoding.ASCII.GetString(b, pos + 4, 4);
                    Add($"{type} length", pos, 4, true);
                    Add($"{type} CRC", pos + 8 + length, 4, true);
                    if (type == "IHDR")
                    {
                        Add("IHDR width", pos + 8, 4, true);
                        Add("IHDR height", pos + 12, 4, true);
                        Add("IHDR bit depth", pos + 16, 1, true);
                        Add("IHDR colour type", pos + 17, 1, true);
                        Add("IHDR compression", pos + 18, 1, true);
                        Add("IHDR filter", pos + 19, 1, true);
                        Add("IHDR interlace", pos + 20, 1, true);
                    }
                    if (type == "IDAT") Add("IDAT zlib header", pos + 8, 2, true);
                    pos += 12 + length;
                }
                break;
            case MediaFormat.WebP:
                Add("RIFF size", 4, 4, false);
                for (var pos = 12; pos + 8 <= b.Length;)
                {
                    var size = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(pos + 4)), int.MaxValue - 16);
                    var id = System.Text.Encoding.ASCII.GetString(b, pos, 4);
                    Add($"{id} size", pos + 4, 4, false);
                    if (id == "VP8X") { Add("VP8X flags", pos + 8, 1, false); Add("VP8X canvas width", pos + 12, 3, false); Add("VP8X canvas height", pos + 15, 3, false); }
                    if (id == "VP8 ") { Add("VP8 frame tag", pos + 8, 3, false); Add("VP8 width", pos + 14, 2, false); Add("VP8 height", pos + 16, 2, false); Add("VP8 first partition", pos + 18, 4, false); }
                    if (id == "VP8L") { Add("VP8L signature", pos + 8, 1, false); Add("VP8L dimensions", pos + 9, 4, false); Add("VP8L transforms", pos + 13, 2, false); }
                    if (id == "ALPH") Add("ALPH flags", pos + 8, 1, false);
                    pos += 8 + size + (size & 1);
                }
                break;
            case MediaFormat.Wav:
                Add("RIFF size", 4, 4, false);
                for (var pos = 12; pos + 8 <= b.Length;)
                {
                    var size = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(pos + 4)), int.MaxValue - 16);
                    var id = System.Text.Encoding.ASCII.GetString(b, pos, 4);
                    Add($"{id} size", pos + 4, 4, false);
                    if (id == "fmt ")
                    {
                        Add("fmt tag", pos + 8, 2, false);
                        Add("fmt channels", pos + 10, 2, false);
                        Add("fmt sample rate", pos + 12, 4, false);
                        Add("fmt byte rate", pos + 16, 4, false);
                        Add("fmt block align", pos + 20, 2, false);
                        Add("fmt bits", pos + 22, 2, false);
                        if (size >= 18) Add("fmt extension size", pos + 24, 2, false);
                        if (size >= 40) { Add("fmt valid bits", pos + 26, 2, false); Add("fmt channel mask", pos + 28, 4, false); Add("fmt subformat", pos + 32, 4, false); }
                    }
                    pos += 8 + size + (size & 1);
                }
                break;
            case MediaFormat.Mp3:
            {
                var frame = 0;
                if (b.AsSpan().StartsWith("ID3"u8))
                {
                    Add("ID3 flags", 5, 1, true);
                    Add("ID3 size", 6, 4, true);
                    frame = 10 + (b[6] << 21 | b[7] << 14 | b[8] << 7 | b[9]);
                    Add("ID3 first frame size", 14, 4, true);
                }
                Add("MPEG frame header", frame, 4, true);
                Add("MPEG bitrate/rate byte", frame + 2, 1, true);
                var xing = b.AsSpan(0, Math.Min(b.Length, frame + 200)).IndexOf("Xing"u8) is var x and >= 0 ? x : b.AsSpan(0, Math.Min(b.Length, frame + 200)).IndexOf("Info"u8);
                if (xing >= 0) { Add("Xing flags", xing + 4, 4, true); Add("Xing frames", xing + 8, 4, true); Add("Xing bytes", xing + 12, 4, true); }
                break;
            }
            case MediaFormat.Flac:
                Add("STREAMINFO block header", 4, 4, true);
                Add("STREAMINFO min block size", 8, 2, true);
                Add("STREAMINFO max block size", 10, 2, true);
                Add("STREAMINFO min frame size", 12, 3, true);
                Add("STREAMINFO max frame size", 15, 3, true);
                Add("STREAMINFO rate/channels/bits", 18, 4, true);
                Add("STREAMINFO total samples", 22, 4, true);
                break;
            case MediaFormat.Ogg:
            {
                Add("Ogg header type", 5, 1, false);
                Add("Ogg granule", 6, 4, false);
                Add("Ogg page sequence", 18, 4, false);
                Add("Ogg segment count", 26, 1, false);
                var packet = 27 + b[26];
                Add("Ogg first segment size", 27, 1, false);
                Add("Vorbis channels", packet + 11, 1, false);
                Add("Vorbis rate", packet + 12, 4, false);
                Add("Vorbis nominal bitrate", packet + 20, 4, false);
                Add("Vorbis block sizes", packet + 28, 1, false);
                break;
            }
            case MediaFormat.Gif:
                Add("GIF screen width", 6, 2, false);
                Add("GIF screen height", 8, 2, false);
                Add("GIF flags", 10, 1, false);
                var descriptor = Array.IndexOf(b, (byte)0x2C, 13);
                if (descriptor > 0) { Add("GIF image left", descriptor + 1, 2, false); Add("GIF image width", descriptor + 5, 2, false); Add("GIF image height", descriptor + 7, 2, false); Add("GIF LZW size", descriptor + 10, 1, false); }
                break;
            case MediaFormat.Bmp:
                Add("BMP file size", 2, 4, false);
                Add("BMP pixel offset", 10, 4, false);
                Add("BMP header size", 14, 4, false);
                Add("BMP width", 18, 4, false);
                Add("BMP height", 22, 4, false);
                Add("BMP planes", 26, 2, false);
                Add("BMP bits", 28, 2, false);
                Add("BMP compression", 30, 4, false);
                Add("BMP image size", 34, 4, false);
                Add("BMP colours used", 46, 4, false);
                break;
            case MediaFormat.Tiff:
            {
                var big = b[0] == (byte)'M';
                Add("TIFF IFD offset", 4, 4, big);
                var ifd = (int)(big ? BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(4)) : BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4)));
                Add("TIFF entry count", ifd, 2, big);
                for (var e = 0; e < 12; e++)
                {
                    Add($"TIFF entry {e} type", ifd + 2 + 12 * e + 2, 2, big);
                    Add($"TIFF entry {e} count", ifd + 2 + 12 * e + 4, 4, big);
                    Add($"TIFF entry {e} value", ifd + 2 + 12 * e + 8, 4, big);
                }
                break;
            }
        }
        if (fields.Count == 0) Add("first word", 0, 4, true);
        return fields;
    }

    static string Photos => Path.Combine(Paths.Shared, "pdq", "images");
    static string Bridge => Path.Combine(Photos, "bridge-mods", "square-256x256.jpg");
    static string Street => Path.Combine(Photos, "labelme-subset", "q2821.jpg");

    static MediaSample Load(string name, string path)
    {
        var bytes = File.ReadAllBytes(path);
        var format = FormatSniffer.Sniff(bytes.AsSpan(0, Math.Min(32, bytes.Length)));
        if (format == MediaFormat.Unknown) throw new InvalidOperationException($"{path} is not a format the service reads");
        return new MediaSample(name, format, bytes);
    }

    /// <summary>JPEG, PNG, WebP, WAV and MP3 (nine tool runs).</summary>
    static IReadOnlyList<MediaSample> MakeCorpusSamples()
    {
        using var tmp = new TempDir();
        var fixtures = Path.Combine(Paths.RepoRoot, "tests", "Media.Tests", "Fixtures", "codecs");
        var samples = new List<MediaSample>();
        void Add(string name, string path) => samples.Add(Load(name, path));
        string bridge = Bridge, street = Street;
        Add("photo-bridge.jpg", bridge);
        Add("photo-q2821.jpg", street);
        Add("exif-orientation-6.jpg", Path.Combine(fixtures, "exif-orientation-6.jpg"));
        Add("cmyk.jpg", Path.Combine(fixtures, "cmyk.jpg"));

        // Re-encodings of the real photos.
        Ffmpeg.Run("-i", street, tmp["street.png"]);
        Ffmpeg.Run("-i", bridge, "-vf", "scale=160:-1", tmp["bridge.png"]);
        Ffmpeg.Run("-i", street, "-c:v", "libwebp", "-quality", "75", tmp["street.webp"]);
        Ffmpeg.Run("-i", bridge, "-vf", "scale=128:-1", "-c:v", "libwebp", "-lossless", "1", tmp["bridge-lossless.webp"]);
        Add("photo-q2821.png", tmp["street.png"]);
        Add("photo-bridge.png", tmp["bridge.png"]);
        Add("palette.png", Path.Combine(fixtures, "palette.png"));
        Add("alpha.png", Path.Combine(fixtures, "alpha.png"));
        Add("gray16.png", Path.Combine(fixtures, "gray16.png"));
        Add("photo-q2821.webp", tmp["street.webp"]);
        Add("photo-bridge-lossless.webp", tmp["bridge-lossless.webp"]);
        Add("alpha.webp", Path.Combine(fixtures, "alpha.webp"));

        // Speech: 16-bit mono 22.05 kHz from espeak-ng, then the WAV layouts WavReader reads, and MP3.
        var speech = AudioMaterial.Speech(tmp.Path, "speech.wav", "Seven hostile files walked into a decoder.");
        Ffmpeg.Run("-i", speech, "-ac", "2", "-ar", "44100", "-c:a", "pcm_s24le", tmp["speech-s24-stereo.wav"]);
        Ffmpeg.Run("-i", speech, "-c:a", "pcm_f32le", tmp["speech-f32.wav"]);
        Ffmpeg.Run("-i", speech, "-c:a", "pcm_u8", tmp["speech-u8.wav"]);
        Ffmpeg.Run("-i", speech, "-b:a", "64k", tmp["speech.mp3"]);
        Add("speech.wav", speech);
        Add("speech-s24-stereo.wav", tmp["speech-s24-stereo.wav"]);
        Add("speech-f32.wav", tmp["speech-f32.wav"]);
        Add("speech-u8.wav", tmp["speech-u8.wav"]);
        Add("speech.mp3", tmp["speech.mp3"]);
        return samples;
    }

    /// <summary>The formats only ffmpeg decodes, besides MP3: GIF, BMP and TIFF photos (kept small, 96 px, because every decode
    /// is a process) and FLAC and Ogg Vorbis speech.</summary>
    static IReadOnlyList<MediaSample> MakeOtherSamples()
    {
        using var tmp = new TempDir();
        var speech = tmp["speech.wav"];
        File.WriteAllBytes(speech, CorpusSamples.Value.First(s => s.Name == "speech.wav").Bytes);
        Ffmpeg.Run("-i", Street, "-vf", "scale=96:-1", tmp["street.gif"]);
        Ffmpeg.Run("-i", Street, "-vf", "scale=96:-1", tmp["street.bmp"]);
        Ffmpeg.Run("-i", Bridge, "-vf", "scale=96:-1", "-compression_algo", "deflate", tmp["bridge.tiff"]);
        Ffmpeg.Run("-i", speech, tmp["speech.flac"]);
        Ffmpeg.Run("-i", speech, "-c:a", "libvorbis", "-q:a", "2", tmp["speech.ogg"]);
        return
        [
            Load("photo-q2821.gif", tmp["street.gif"]),
            Load("photo-q2821.bmp", tmp["street.bmp"]),
            Load("photo-bridge.tiff", tmp["bridge.tiff"]),
            Load("speech.flac", tmp["speech.flac"]),
            Load("speech.ogg", tmp["speech.ogg"]),
        ];
    }
}
