namespace Media.Tests;

/// <summary>Locations of the repository, its fixture packs and the shared test data beside it.</summary>
static class Paths
{
    public static string RepoRoot { get; } = FindRoot();
    public static string Shared => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
    public static string ColorClip => Path.Combine(RepoRoot, "models", "fixtures", "color-clip");
    /// <summary>The published CLI's apphost, copied next to the tests by the project reference.</summary>
    public static string MediaExe => Path.Combine(AppContext.BaseDirectory, "media");

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Media.sln"))) return dir.FullName;
        throw new InvalidOperationException("Media.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("media-tests-").FullName;
    public string this[string name] => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }

    /// <summary>Copies a folder's files (not recursive) into a new subfolder and returns its path.</summary>
    public string CopyFolder(string source, string name)
    {
        var dest = this[name];
        Directory.CreateDirectory(dest);
        foreach (var f in Directory.GetFiles(source)) File.Copy(f, System.IO.Path.Combine(dest, System.IO.Path.GetFileName(f)));
        return dest;
    }
}
