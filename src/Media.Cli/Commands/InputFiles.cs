namespace Media.Cli.Commands;

/// <summary>Command-line inputs: files, and folders walked recursively in name order.</summary>
static class InputFiles
{
    public static IEnumerable<string> Expand(IEnumerable<string> paths)
    {
        foreach (var p in paths)
        {
            if (Directory.Exists(p))
            {
                foreach (var f in Directory.EnumerateFiles(p, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System })
                             .Order(StringComparer.Ordinal))
                    yield return f;
            }
            else yield return p;
        }
    }
}
