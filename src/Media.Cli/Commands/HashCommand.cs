using System.CommandLine;
using System.Security.Cryptography;
using Media.Codecs;
using Media.Codecs.Audio;
using Media.Hashing;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media hash [--json] FILE...</c>: SHA-256, format, dimensions and PDQ of each image, or duration and Chromaprint
/// fingerprint of each audio file, one line per file in the order given; a rejected file gets <c>{"path", "error"}</c> and the rest go on. Exit 0 when every file was
/// hashed, 1 when some were rejected.
/// </summary>
static class HashCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var files = new Argument<string[]>("FILE") { Description = "Files (folders are walked recursively)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("hash", "Perceptual (PDQ) and cryptographic (SHA-256) hashes of media files") { json, files };
        command.SetAction(parse =>
        {
            var decoder = new ImageDecoder();
            var asJson = parse.GetValue(json);
            var rejected = 0;
            var results = InputFiles.Expand(parse.GetValue(files)!)
                .AsParallel().AsOrdered().WithDegreeOfParallelism(Environment.ProcessorCount)
                .Select(path => Hash(decoder, path));
            foreach (var r in results)
            {
                if (r.Error is not null) rejected++;
                if (asJson)
                {
                    if (r.Error is not null) CliOutput.Line(new { path = r.Path, error = r.Error });
                    else if (r.Chromaprint is not null) CliOutput.Line(new { path = r.Path, sha256 = r.Sha256, format = r.Format, durationSeconds = r.DurationSeconds, chromaprint = r.Chromaprint });
                    else CliOutput.Line(new { path = r.Path, sha256 = r.Sha256, format = r.Format, width = r.Width, height = r.Height, pdq = r.Pdq, pdqQuality = r.PdqQuality });
                }
                else Console.WriteLine(r.Error is not null ? $"rejected: {r.Path}: {r.Error}"
                    : r.Chromaprint is not null ? $"{r.DurationSeconds,8:0.00}s {r.Format,-4} {r.Path} {r.Chromaprint[..Math.Min(40, r.Chromaprint.Length)]}…"
                    : $"{r.Pdq} {r.PdqQuality,3} {r.Width}x{r.Height} {r.Format,-4} {r.Path}");
            }
            return rejected == 0 ? 0 : 1;
        });
        return command;
    }

    sealed record Result(string Path, string? Sha256 = null, string? Format = null, int Width = 0, int Height = 0, string? Pdq = null, int PdqQuality = 0,
        string? Error = null, double? DurationSeconds = null, string? Chromaprint = null);

    static Result Hash(ImageDecoder decoder, string path)
    {
        byte[] bytes;
        try
        {
            bytes = new SourceReader(decoder.Limits).ReadFile(path);
        }
        catch (MediaRejectedException ex)
        {
            return new Result(path, Error: ex.Message);
        }
        try
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (FormatSniffer.Sniff(bytes.AsSpan(0, Math.Min(32, bytes.Length))).IsAudio())
            {
                var clip = new AudioDecoder().Decode(bytes);
                return new Result(path, sha, clip.Format.Name(), DurationSeconds: Math.Round(clip.DurationSeconds, 3), Chromaprint: AudioFingerprint.Encode(AudioFingerprint.Compute(clip)));
            }
            var decoded = decoder.Decode(bytes, PdqImage.DecodeOptions);
            var pdq = PdqHasher.Hash(decoded.Stored);
            return new Result(path, Convert.ToHexStringLower(SHA256.HashData(bytes)), decoded.Format.Name(), decoded.Width, decoded.Height, pdq.Hash.ToString(), pdq.Quality);
        }
        catch (MediaRejectedException ex)
        {
            return new Result(path, Error: ex.Message);
        }
    }
}
