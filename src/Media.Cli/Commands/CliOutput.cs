using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Media.Cli.Commands;

/// <summary>JSON-lines output shared by every command: camelCase, one object per line, on stdout.</summary>
static class CliOutput
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    static readonly object Gate = new();

    /// <summary>Writes one JSON object as one line.</summary>
    public static void Line<T>(T value)
    {
        var text = JsonSerializer.Serialize(value, Json);
        lock (Gate) Console.Out.WriteLine(text);
    }

    /// <summary>Writes an error to stderr.</summary>
    public static void Error(string message)
    {
        lock (Gate) Console.Error.WriteLine($"media: {message}");
    }
}
