namespace Media.Tests;

/// <summary>Runs the ffmpeg CLI to make test media.</summary>
static class Ffmpeg
{
    public static void Run(params string[] args) => TestProcess.Check("ffmpeg", ["-nostdin", "-hide_banner", "-v", "error", "-y", .. args]);
}
