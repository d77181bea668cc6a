using Media.Codecs;
using Media.Codecs.Audio;
using SharpFuzz;

// Fuzz target for the in-process decoders: TurboJPEG (with the EXIF reader), libspng, libwebp and the WAV parser.
// The contract is the decoders': any bytes decode or throw MediaRejectedException with a reason; any other exception,
// a native crash or a hang is a finding. Inputs that would go to the ffmpeg CLI are skipped (a process per input is far too
// slow for a fuzzer; tests/Media.Tests/Codecs/MutationTests covers those paths).
//   Media.Fuzz                 run under afl-fuzz (tools/fuzz-decoders.sh)
//   Media.Fuzz FILE...         replay inputs, e.g. AFL's crashes, and print what each does (exit 1 if any breaks the contract)
// Instrumented code must not run before Fuzzer.OutOfProcess.Run maps AFL's coverage area, so nothing from Media.Codecs is
// touched outside One(), and replays use an uninstrumented build.

if (args.Length > 0)
{
    var broken = 0;
    foreach (var path in args)
    {
        try
        {
            Console.WriteLine($"{path}: {One(File.ReadAllBytes(path))}");
        }
        catch (Exception ex)
        {
            broken++;
            Console.WriteLine($"{path}: CONTRACT BROKEN {ex}");
        }
    }
    return broken == 0 ? 0 : 1;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    One(buffer.ToArray());
});
return 0;

static string One(byte[] data)
{
    var images = new ImageDecoder(new DecodeLimits { MaxPixels = 4_000_000 }); // small: keeps each execution fast
    var audioLimits = new AudioLimits { MaxDurationSeconds = 120 };
    var format = FormatSniffer.Sniff(data.AsSpan(0, Math.Min(32, data.Length)));
    try
    {
        switch (format)
        {
            case MediaFormat.Jpeg:
                var orientation = ExifOrientation.ReadJpeg(data);
                if (orientation is < 1 or > 8) throw new InvalidOperationException($"EXIF orientation {orientation} out of 1–8");
                Check(images.Decode(data));
                return "decoded";
            case MediaFormat.Png or MediaFormat.WebP:
                Check(images.Decode(data));
                return "decoded";
            case MediaFormat.Wav:
                var clip = WavReader.Read(data, audioLimits);
                if (clip.Samples.Length == 0 || clip.Samples.Any(x => !float.IsFinite(x))) throw new InvalidOperationException("malformed clip");
                return "decoded";
            default:
                return $"skipped ({format.Name()})";
        }
    }
    catch (MediaRejectedException ex) when (!string.IsNullOrWhiteSpace(ex.Message))
    {
        return $"rejected: {ex.Message}";
    }
}

static void Check(DecodedImage d)
{
    var img = d.Image;
    if (img.Width <= 0 || img.Height <= 0 || img.Pixels.Length != img.Width * img.Height * 3)
        throw new InvalidOperationException($"malformed image {img.Width}×{img.Height} with {img.Pixels.Length} bytes");
}
