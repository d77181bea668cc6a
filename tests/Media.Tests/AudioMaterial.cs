namespace Media.Tests;

/// <summary>Audio the tests make: speech from espeak-ng, tones, chords and noise from sox, edited copies from ffmpeg.</summary>
static class AudioMaterial
{
    public static string Speech(string dir, string name, string text, string voice = "en")
    {
        var path = Path.Combine(dir, name);
        TestProcess.Check("espeak-ng", "-v", voice, "-w", path, text);
        return path;
    }

    public static string Sox(string dir, string name, params string[] synth)
    {
        var path = Path.Combine(dir, name);
        TestProcess.Check("sox", ["-n", "-r", "44100", "-c", "2", path, "synth", .. synth]);
        return path;
    }

    /// <summary>The transcoded and edited copies a near-duplicate detector must catch: MP3 128k, Ogg Vorbis, 22.05 kHz, −6 dB, trimmed.</summary>
    public static Dictionary<string, string> Copies(string source, string dir)
    {
        var stem = Path.GetFileNameWithoutExtension(source);
        var copies = new Dictionary<string, string>
        {
            ["mp3-128k"] = Path.Combine(dir, $"{stem}-128k.mp3"),
            ["ogg"] = Path.Combine(dir, $"{stem}.ogg"),
            ["22khz"] = Path.Combine(dir, $"{stem}-22khz.flac"),
            ["minus-6db"] = Path.Combine(dir, $"{stem}-quiet.m4a"),
            ["trimmed"] = Path.Combine(dir, $"{stem}-trimmed.mp3"),
        };
        Ffmpeg.Run("-i", source, "-b:a", "128k", copies["mp3-128k"]);
        Ffmpeg.Run("-i", source, "-c:a", "libvorbis", "-q:a", "4", copies["ogg"]);
        Ffmpeg.Run("-i", source, "-ar", "22050", copies["22khz"]);
        Ffmpeg.Run("-i", source, "-filter:a", "volume=-6dB", "-c:a", "aac", "-b:a", "128k", copies["minus-6db"]);
        Ffmpeg.Run("-i", source, "-ss", "1.5", "-t", "25", "-b:a", "160k", copies["trimmed"]);
        return copies;
    }
}
