using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace ChatService.Cards;

/// <summary>The types and depth of the fields a card keeps as they are, and the text of the whole card.</summary>
public static partial class CardReader
{
    /// <summary>
    /// The spec'd fields the character does not hold, when present, have the types the specs give
    /// them (so an export is a card other applications read); what inside them the specs leave open
    /// (extensions, lorebook entries' own fields) is not looked into.
    /// </summary>
    private static void CheckKeptFields(JsonElement data, CardFormat spec, string field)
    {
        if (data.TryGetProperty(CardFields.Extensions, out var extensions))
        {
            ExpectObject(extensions, "data.extensions", field);
        }

        if (data.TryGetProperty("character_book", out var book) && book.ValueKind != JsonValueKind.Null)
        {
            ExpectObject(book, "data.character_book", field);
            if (book.TryGetProperty("entries", out var entries))
            {
                ExpectObjects(entries, "data.character_book.entries", field);
            }
        }

        if (spec != CardFormat.V3)
        {
            return;
        }

        foreach (var name in (string[])[CardFields.GroupOnlyGreetings, "source"])
        {
            if (data.TryGetProperty(name, out var texts) && texts.ValueKind != JsonValueKind.Null)
            {
                ExpectTexts(texts, $"data.{name}", field);
            }
        }

        if (data.TryGetProperty("nickname", out var nickname) && nickname.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
        {
            throw CardErrors.Invalid(field, $"data.nickname must be a string, not {Kind(nickname)}");
        }

        foreach (var name in (string[])["creation_date", CardFields.ModificationDate])
        {
            if (data.TryGetProperty(name, out var date) && date.ValueKind is not (JsonValueKind.Number or JsonValueKind.Null))
            {
                throw CardErrors.Invalid(field, $"data.{name} must be a number (Unix seconds), not {Kind(date)}");
            }
        }

        if (data.TryGetProperty("creator_notes_multilingual", out var notes) && notes.ValueKind != JsonValueKind.Null)
        {
            ExpectObject(notes, "data.creator_notes_multilingual", field);
            foreach (var note in notes.EnumerateObject().Where(n => n.Value.ValueKind != JsonValueKind.String))
            {
                throw CardErrors.Invalid(field, $"data.creator_notes_multilingual{Segment(note.Name)} must be a string, not {Kind(note.Value)}");
            }
        }

        if (data.TryGetProperty("assets", out var assets) && assets.ValueKind != JsonValueKind.Null)
        {
            ExpectObjects(assets, "data.assets", field);
            var i = 0;
            foreach (var asset in assets.EnumerateArray())
            {
                foreach (var name in (string[])["type", "uri", "name", "ext"])
                {
                    if (asset.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.String)
                    {
                        throw CardErrors.Invalid(field, $"data.assets[{i}].{name} must be a string, not {Kind(value)}");
                    }
                }

                i++;
            }
        }
    }

    /// <summary>
    /// Each <c>data</c> field V2 does not define nests at most <see cref="CardLimits.MaxNonV2FieldDepth"/>
    /// deep, so that a V2 export, which moves it two levels deeper, is a card this service imports.
    /// </summary>
    private static void CheckNonV2FieldDepth(JsonElement data, string field)
    {
        foreach (var property in data.EnumerateObject())
        {
            if (CardFields.V2Data.Contains(property.Name))
            {
                continue;
            }

            // The card and data are the first two levels.
            var depth = 2 + Nesting(property.Value);
            if (depth > CardLimits.MaxNonV2FieldDepth)
            {
                throw CardErrors.Invalid(field, $"data{Segment(property.Name)} nests {depth} levels deep (the card and data count as two); " +
                    $"a data field V2 does not define may nest at most {CardLimits.MaxNonV2FieldDepth}, as a V2 export keeps it two levels deeper, " +
                    $"in data.extensions[\"{CardFields.V3InExtensions}\"]");
            }
        }
    }

    /// <summary>How many arrays and objects deep <paramref name="value"/> goes: 0 for a number, string, boolean or null.</summary>
    private static int Nesting(JsonElement value)
    {
        var deepest = 0;
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    deepest = Math.Max(deepest, Nesting(property.Value));
                }

                return deepest + 1;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    deepest = Math.Max(deepest, Nesting(item));
                }

                return deepest + 1;
            default:
                return 0;
        }
    }

    private static void ExpectObject(JsonElement value, string path, string field)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw CardErrors.Invalid(field, $"{path} must be an object, not {Kind(value)}");
        }
    }

    private static void ExpectObjects(JsonElement value, string path, string field) => ExpectArrayOf(value, JsonValueKind.Object, "an object", path, field);

    private static void ExpectTexts(JsonElement value, string path, string field) => ExpectArrayOf(value, JsonValueKind.String, "a string", path, field);

    private static void ExpectArrayOf(JsonElement value, JsonValueKind kind, string kindName, string path, string field)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw CardErrors.Invalid(field, $"{path} must be an array, not {Kind(value)}");
        }

        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != kind)
            {
                throw CardErrors.Invalid(field, $"{path}[{i}] must be {kindName}, not {Kind(item)}");
            }

            i++;
        }
    }

    /// <summary>
    /// The JSON path of the first string or property name that is not Unicode text (bytes that
    /// are not UTF-8, or an escaped lone surrogate such as <c>"\ud800"</c>), which could be
    /// neither stored nor sent; null when every one is.
    /// </summary>
    private static string? FindInvalidText(JsonElement card)
    {
        var reversed = new List<string>();
        return HasInvalidText(card, reversed) ? string.Concat(Enumerable.Reverse(reversed)).TrimStart('.') : null;
    }

    /// <summary>Depth-first; on the way back out of an invalid text, adds the path's segments innermost first.</summary>
    private static bool HasInvalidText(JsonElement element, List<string> reversedPath)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return !IsUnicode(element);
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        reversedPath.Add(".<a property name>");
                        return true;
                    }

                    if (HasInvalidText(property.Value, reversedPath))
                    {
                        reversedPath.Add(Segment(name));
                        return true;
                    }
                }

                return false;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (HasInvalidText(item, reversedPath))
                    {
                        reversedPath.Add($"[{i}]");
                        return true;
                    }

                    i++;
                }

                return false;
            default:
                return false;
        }
    }

    private static bool IsUnicode(JsonElement text)
    {
        var raw = JsonMarshal.GetRawUtf8Value(text);
        if (!raw.Contains((byte)'\\'))
        {
            return Utf8.IsValid(raw);
        }

        try
        {
            _ = text.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>A property's step in a path: <c>.name</c>, or <c>["odd name"]</c> when it is not a plain word.</summary>
    private static string Segment(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') ? "." + name : $"[{JsonSerializer.Serialize(Chats.Text.Preview(name, 40))}]";
}
