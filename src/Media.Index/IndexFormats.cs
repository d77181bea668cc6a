namespace Media.Index;

/// <summary>
/// Reads a saved index of any implementation: the first four bytes of <see cref="IVectorIndex.Save"/> and
/// <see cref="IBinaryIndex.Save"/> name the format (as faiss's <c>read_index</c> dispatches on its fourcc).
/// </summary>
public static class IndexFormats
{
    static readonly Dictionary<string, Func<Stream, IVectorIndex>> Vector = new(StringComparer.Ordinal)
    {
        ["MFVI"] = FlatVectorIndex.Load,
        ["MBVI"] = BufferedVectorIndex.Load,
        ["MHNW"] = HnswVectorIndex.Load,
    };

    static readonly Dictionary<string, Func<Stream, IBinaryIndex>> Binary = new(StringComparer.Ordinal)
    {
        ["MFBI"] = FlatBinaryIndex.Load,
        ["MMIH"] = s => MultiIndexHashing.Load(s),
    };

    /// <summary>Registers another vector-index format under its four-byte magic.</summary>
    public static void RegisterVector(string magic, Func<Stream, IVectorIndex> load)
    {
        lock (Vector) Vector[magic] = load;
    }

    /// <summary>Registers another binary-index format under its four-byte magic.</summary>
    public static void RegisterBinary(string magic, Func<Stream, IBinaryIndex> load)
    {
        lock (Binary) Binary[magic] = load;
    }

    /// <exception cref="InvalidDataException">An unknown format, or the implementation's own refusal.</exception>
    public static IVectorIndex LoadVector(Stream stream) => Dispatch(stream, Vector, "vector");

    /// <exception cref="InvalidDataException">An unknown format, or the implementation's own refusal.</exception>
    public static IBinaryIndex LoadBinary(Stream stream) => Dispatch(stream, Binary, "binary");

    static T Dispatch<T>(Stream stream, Dictionary<string, Func<Stream, T>> formats, string what)
    {
        if (!stream.CanSeek) throw new ArgumentException("the stream must be seekable", nameof(stream));
        Span<byte> magic = stackalloc byte[4];
        var start = stream.Position;
        if (stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4) throw new InvalidDataException($"{what} index is truncated");
        stream.Position = start;
        var name = System.Text.Encoding.ASCII.GetString(magic);
        Func<Stream, T>? load;
        lock (formats) formats.TryGetValue(name, out load);
        return load is null ? throw new InvalidDataException($"unknown {what} index format '{name}'") : load(stream);
    }
}
