using System.Text.Json;

namespace ChatService.Portability;

/// <summary>Splits an imported file into its lines, each parsed as one JSON object (blank lines are skipped).</summary>
internal static class ImportFile
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 32, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>The file's non-blank lines as objects, numbered from 1 as an editor numbers them.</summary>
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

            yield return Parse(number, line);
        }
    }

    private static ImportLine Parse(int number, ReadOnlyMemory<byte> line)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(line, Options);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw ImportLine.Refuse(number, "(the line)", $"is not valid JSON (byte {e.BytePositionInLine ?? 0} of the line)");
        }

        return root.ValueKind == JsonValueKind.Object
            ? new ImportLine(number, root)
            : throw ImportLine.Refuse(number, "(the line)", $"must be a JSON object, not {root.ValueKind.ToString().ToLowerInvariant()}");
    }
}
