using System.Text.Json;

namespace ChatService.Portability;

/// <summary>
/// Splits an imported file into its lines, each parsed once as one JSON object (blank lines are skipped). A
/// line's document lives only while the reader is on it: its elements are read straight from the document's
/// pooled buffer (never cloned) and the buffer goes back to the pool when the reader moves to the next line,
/// so reading a file allocates what it keeps (the texts and records of its turns), not a copy of every line.
/// Readers must therefore keep no <see cref="JsonElement"/> of a line past it.
/// </summary>
internal static class ImportFile
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 32, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>The file's non-blank lines as objects, numbered from 1 as an editor numbers them; each valid until the next is read.</summary>
    public static IEnumerable<ImportLine> Lines(ReadOnlyMemory<byte> data)
    {
        var number = 0;

        // A UTF-8 byte order mark (some editors write one) is no part of the first line.
        var start = data.Span.StartsWith("\uFEFF"u8) ? 3 : 0;
        while (start <= data.Length)
        {
            number++;
            var rest = data.Span[start..];
            var end = rest.IndexOf((byte)'\n');
            var length = end < 0 ? rest.Length : end;
            var line = data.Slice(start, length);
            start += length + 1;
            if (line.Length > 0 && line.Span[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (line.Span.Trim(" \t"u8).Length == 0)
            {
                continue;
            }

            using var document = Parse(number, line);
            var root = document.RootElement;
            yield return root.ValueKind == JsonValueKind.Object
                ? new ImportLine(number, root)
                : throw ImportLine.Refuse(number, "(the line)", $"must be a JSON object, not {root.ValueKind.ToString().ToLowerInvariant()}");
        }
    }

    private static JsonDocument Parse(int number, ReadOnlyMemory<byte> line)
    {
        try
        {
            return JsonDocument.Parse(line, Options);
        }
        catch (JsonException e)
        {
            throw ImportLine.Refuse(number, "(the line)", $"is not valid JSON (byte {e.BytePositionInLine ?? 0} of the line)");
        }
    }
}
