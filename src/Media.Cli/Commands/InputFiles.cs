namespace Media.Cli.Commands;

/// <summary>Command-line inputs: files, and folders walked recursively in name order.</summary>
static class InputFiles
{
    static readonly EnumerationOptions Entries = new() { IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System };

    /// <summary>
    /// The files of <paramref name="paths"/> (folders recursively) in ordinal order of their full paths, enumerated lazily:
    /// memory holds the entries of the folders on the current path (to sort each), never the whole tree. A folder's
    /// entries sort as their names, a subfolder's as its name followed by <c>/</c>, so the walk yields exactly the order
    /// of sorting every path. A path that is not a folder is yielded as given (a missing file is then rejected with its
    /// reason downstream). A folder at <paramref name="exclude"/> (the catalog's data folder, which the walk may reach
    /// after the catalog was created in it) is not entered.
    /// </summary>
    public static IEnumerable<string> Expand(IEnumerable<string> paths, string? exclude = null)
    {
        var excluded = exclude is null ? null : System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(exclude));
        foreach (var p in paths)
        {
            if (!Directory.Exists(p)) yield return p;
            else
                foreach (var f in Walk(p, excluded))
                    yield return f;
        }
    }

    static IEnumerable<string> Walk(string folder, string? excluded)
    {
        if (excluded is not null && System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(folder)) == excluded) yield break;
        (string Key, string Path, bool IsFolder)[] entries;
        try
        {
            entries = [.. Directory.GetFiles(folder, "*", Entries).Select(f => (System.IO.Path.GetFileName(f), f, false)),
                       .. Directory.GetDirectories(folder, "*", Entries).Select(d => (System.IO.Path.GetFileName(d) + "/", d, true))];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            yield break; // vanished or unreadable meanwhile, as IgnoreInaccessible treats its entries
        }
        Array.Sort(entries, (a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var (_, path, isFolder) in entries)
        {
            if (!isFolder) yield return path;
            else
                foreach (var f in Walk(path, excluded))
                    yield return f;
        }
    }

    /// <summary>How many files <see cref="Expand"/> yields, counted without keeping their names (for a progress bar's total).</summary>
    public static long Count(IEnumerable<string> paths, string? exclude = null, CancellationToken cancel = default)
    {
        var excluded = exclude is null ? null : System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(exclude)) + System.IO.Path.DirectorySeparatorChar;
        long n = 0;
        foreach (var p in paths)
        {
            if (!Directory.Exists(p)) { n++; continue; }
            foreach (var f in Directory.EnumerateFiles(p, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System }))
            {
                if (excluded is not null && System.IO.Path.GetFullPath(f).StartsWith(excluded, StringComparison.Ordinal)) continue;
                if ((++n & 1023) == 0) cancel.ThrowIfCancellationRequested();
            }
        }
        return n;
    }
}
