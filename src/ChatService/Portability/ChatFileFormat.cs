using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ChatService.Portability;

/// <summary>The two chat file formats. Both are JSON Lines: one object a line, so export streams and import errors name a line.</summary>
public enum ChatFileFormat
{
    /// <summary>This service's own format: nothing of a chat is lost (docs/chat-export-format.md).</summary>
    Lossless = 1,

    /// <summary>SillyTavern's chat file: a metadata line, then one line per message with its swipes.</summary>
    SillyTavern = 2,
}

/// <summary>Writes one JSON object as one line: the writers' shared way to the bytes an export sends.</summary>
internal static class JsonLine
{
    // Texts are written as they are (no \u escapes of <, > or non-ASCII), as SillyTavern writes them.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    public static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            write(writer);
        }

        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A timestamp as RFC 3339 in UTC with microseconds (what Spanner keeps), so an import gives back the same instant.</summary>
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
