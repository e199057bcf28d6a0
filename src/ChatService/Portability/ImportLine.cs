using System.Globalization;
using System.Text.Json;
using ChatService.Chats;

namespace ChatService.Portability;

/// <summary>
/// One line of an imported file as a JSON object, with typed reads that refuse a wrong value by
/// naming the line and the field (INVALID_ARGUMENT on the request's <c>data</c>), so the caller can
/// fix the file without guessing.
/// </summary>
internal readonly struct ImportLine(int number, JsonElement root, string prefix = "")
{
    public int Number => number;

    public JsonElement Root => root;

    public bool Has(string name) => root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;

    public string? String(string name, int maxChars, bool required = false) => StringOf(Property(name, required), name, maxChars);

    public string? StringOf(JsonElement? value, string field, int maxChars)
    {
        if (value is not { } v)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.String)
        {
            throw Fail(field, $"must be a string, not {Kind(v)}");
        }

        var text = TextOf(v, field);
        if (text.Length > maxChars)
        {
            throw Fail(field, $"must be at most {maxChars} characters, has {text.Length}");
        }

        return text;
    }

    /// <summary>
    /// The text of a JSON string, refusing the line (not INTERNAL) when an escaped lone surrogate
    /// (\ud800) makes it no valid Unicode: no text of a chat can hold one. Every read of a string goes
    /// through here.
    /// </summary>
    public string TextOf(JsonElement value, string field)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw Fail(field, "is not valid Unicode text");
        }
    }

    /// <summary>A user's text within the bytes SendMessage and EditTurn take (Chat:MaxMessageBytes), so an import stores nothing the service's own writers would refuse.</summary>
    public string WithinBytes(string text, string field, int maxBytes)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(text);
        return bytes > maxBytes ? throw Fail(field, $"is {bytes} bytes of UTF-8; a user's message may have at most {maxBytes} (Chat:MaxMessageBytes)") : text;
    }

    public long? Long(string name, long min, long max, bool required = false) => LongOf(Property(name, required), name, min, max);

    public long? LongOf(JsonElement? value, string field, long min, long max)
    {
        if (value is not { } v)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var number))
        {
            throw Fail(field, $"must be a whole number, not {Kind(v)}");
        }

        if (number < min || number > max)
        {
            throw Fail(field, $"must be between {min} and {max}, got {number}");
        }

        return number;
    }

    public bool? Bool(string name, bool required = false)
    {
        if (Property(name, required) is not { } v)
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Fail(name, $"must be true or false, not {Kind(v)}"),
        };
    }

    /// <summary>An array of at most <paramref name="maxItems"/> items (empty when absent and not required).</summary>
    public List<JsonElement> Array(string name, int maxItems, bool required = false) => ArrayOf(Property(name, required), name, maxItems);

    public List<JsonElement> ArrayOf(JsonElement? value, string field, int maxItems)
    {
        if (value is not { } v)
        {
            return [];
        }

        if (v.ValueKind != JsonValueKind.Array)
        {
            throw Fail(field, $"must be an array, not {Kind(v)}");
        }

        var count = v.GetArrayLength();
        if (count > maxItems)
        {
            throw Fail(field, $"must have at most {maxItems} items, has {count}");
        }

        return [.. v.EnumerateArray()];
    }

    /// <summary>A nested object as a line of its own (same number), for its fields' reads; null when absent.</summary>
    public ImportLine? Object(string name, bool required = false) => ObjectOf(Property(name, required), name);

    public ImportLine? ObjectOf(JsonElement? value, string field)
    {
        if (value is not { } v)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Object)
        {
            throw Fail(field, $"must be an object, not {Kind(v)}");
        }

        return new ImportLine(number, v, $"{prefix}{field}.");
    }

    /// <summary>An RFC 3339 timestamp (required form: what an export writes).</summary>
    public DateTimeOffset? Time(string name, bool required = false)
    {
        if (String(name, 64, required) is not { } text)
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : throw Fail(name, $"must be an RFC 3339 timestamp, got \"{text}\"");
    }

    public ChatException Fail(string field, string problem) => Refuse(number, prefix + field, problem);

    public static ChatException Refuse(int line, string field, string problem) =>
        new(ChatErrorKind.InvalidArgument, $"data: line {line}: {field} {problem}", "data");

    private JsonElement? Property(string name, bool required)
    {
        if (root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null)
        {
            return value;
        }

        return required ? throw Fail(name, "is required") : null;
    }

    private static string Kind(JsonElement value) => value.ValueKind.ToString().ToLowerInvariant();
}
