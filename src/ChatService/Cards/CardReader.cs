using System.Text;
using System.Text.Json;

namespace ChatService.Cards;

/// <summary>
/// Reads a Character Card's JSON, V2 or V3, strictly: anything that is not JSON, a field of the
/// wrong type, text that is not valid Unicode, or more than <see cref="CardLimits"/> allow is
/// INVALID_ARGUMENT naming the request field and the JSON path (<c>json: data.tags[2] must be a
/// string, not a number</c>). Fields the specs do not know are accepted and kept. A field the
/// character holds may be null or absent (read as empty); cards without <c>spec</c> (V1) are refused.
/// </summary>
public static partial class CardReader
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = CardLimits.MaxJsonDepth, AllowDuplicateProperties = false };

    /// <summary>The card in <paramref name="json"/>, a request's text field named <paramref name="field"/>.</summary>
    public static CharacterCard Read(string json, string field)
    {
        var bytes = Encoding.UTF8.GetByteCount(json);
        if (bytes > CardLimits.MaxJsonBytes)
        {
            throw CardErrors.Invalid(field, $"the card is {bytes} bytes of JSON; the limit is {CardLimits.MaxJsonBytes}");
        }

        return Read(Encoding.UTF8.GetBytes(json), field);
    }

    /// <summary>The card in <paramref name="utf8Json"/> (a byte order mark is skipped), which came in the request field <paramref name="field"/>.</summary>
    public static CharacterCard Read(ReadOnlyMemory<byte> utf8Json, string field)
    {
        if (utf8Json.Length > CardLimits.MaxJsonBytes)
        {
            throw CardErrors.Invalid(field, $"the card is {utf8Json.Length} bytes of JSON; the limit is {CardLimits.MaxJsonBytes}");
        }

        if (utf8Json.Span.StartsWith("\uFEFF"u8))
        {
            utf8Json = utf8Json[3..];
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json, Options);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a property name that is an escaped lone surrogate, met by the duplicate check.
            throw CardErrors.Invalid(field, $"the card is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            return Read(document.RootElement, field);
        }
    }

    private static CharacterCard Read(JsonElement card, string field)
    {
        if (card.ValueKind != JsonValueKind.Object)
        {
            throw CardErrors.Invalid(field, $"the card must be a JSON object such as {{\"spec\": \"chara_card_v2\", \"spec_version\": \"2.0\", \"data\": {{...}}}}, not {Kind(card)}");
        }

        if (FindInvalidText(card) is { } where)
        {
            throw CardErrors.Invalid(field, $"{where} is not valid Unicode text");
        }

        var spec = Spec(card, field);
        if (card.TryGetProperty(CardFields.SpecVersion, out var version) && version.ValueKind != JsonValueKind.String)
        {
            throw CardErrors.Invalid(field, $"spec_version must be a string, not {Kind(version)}");
        }

        if (!card.TryGetProperty(CardFields.Data, out var data))
        {
            throw CardErrors.Invalid(field, "data is missing: a V2 or V3 card has its fields in a \"data\" object");
        }

        if (data.ValueKind != JsonValueKind.Object)
        {
            throw CardErrors.Invalid(field, $"data must be an object, not {Kind(data)}");
        }

        CheckKeptFields(data, spec, field);
        CheckNonV2FieldDepth(data, field);
        var outline = CardOutline.Write(card, data);
        if (outline.Length > CardLimits.MaxKeptBytes)
        {
            throw CardErrors.Invalid(field, $"the card's fields kept as they are (extensions, character_book and fields a character has no place for) " +
                $"are {outline.Length} bytes of JSON as stored (a character outside the Basic Multilingual Plane, such as an emoji, as a 12-byte \\u escape pair); " +
                $"the limit is {CardLimits.MaxKeptBytes}");
        }

        return new CharacterCard(spec)
        {
            Name = Text(data, "name", field),
            Description = Text(data, "description", field),
            Personality = Text(data, "personality", field),
            Scenario = Text(data, "scenario", field),
            FirstMes = Text(data, "first_mes", field),
            MesExample = Text(data, "mes_example", field),
            CreatorNotes = Text(data, "creator_notes", field),
            SystemPrompt = Text(data, "system_prompt", field),
            PostHistoryInstructions = Text(data, "post_history_instructions", field),
            AlternateGreetings = Texts(data, "alternate_greetings", field),
            Tags = Texts(data, "tags", field),
            Creator = Text(data, "creator", field),
            CharacterVersion = Text(data, "character_version", field),
            Talkativeness = Talkativeness(data, field),
            Kept = Encoding.UTF8.GetString(outline.Span),
            Book = CardBook.Read(data, Text(data, "name", field), field),
        };
    }

    private static CardFormat Spec(JsonElement card, string field)
    {
        if (!card.TryGetProperty(CardFields.Spec, out var spec))
        {
            throw CardErrors.Invalid(field, $"spec is missing: a card says \"spec\": \"{CardFields.V2Name}\" or \"{CardFields.V3Name}\" (V1 cards, without it, are not accepted)");
        }

        return spec.ValueKind != JsonValueKind.String
            ? throw CardErrors.Invalid(field, $"spec must be a string, not {Kind(spec)}")
            : spec.GetString() switch
            {
                CardFields.V2Name => CardFormat.V2,
                CardFields.V3Name => CardFormat.V3,
                var other => throw CardErrors.Invalid(field,
                    $"spec must be \"{CardFields.V2Name}\" or \"{CardFields.V3Name}\", not \"{Chats.Text.Preview(other!, 40)}\""),
            };
    }

    /// <summary>A text field of <c>data</c>; empty when absent or null.</summary>
    private static string Text(JsonElement data, string name, string field) =>
        !data.TryGetProperty(name, out var value) ? "" : value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Null => "",
            _ => throw CardErrors.Invalid(field, $"data.{name} must be a string, not {Kind(value)}"),
        };

    /// <summary>A list of texts in <c>data</c>; empty when absent or null.</summary>
    private static IReadOnlyList<string> Texts(JsonElement data, string name, string field)
    {
        if (!data.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        ExpectTexts(value, $"data.{name}", field);
        return value.EnumerateArray().Select(item => item.GetString()!).ToList();
    }

    /// <summary>
    /// <c>data.extensions.talkativeness</c>: a number from 0 to 1, or such a number as a string (SillyTavern
    /// writes "0.5"); absent, null or an empty string reads as the default. The value itself stays in the
    /// extensions as written (<see cref="CardOutline"/>), so an export of an unchanged card gives it back.
    /// </summary>
    private static double Talkativeness(JsonElement data, string field)
    {
        if (!data.TryGetProperty(CardFields.Extensions, out var extensions) || extensions.ValueKind != JsonValueKind.Object
            || !extensions.TryGetProperty(CardFields.Talkativeness, out var value))
        {
            return Chats.Character.DefaultTalkativeness;
        }

        var number = value.ValueKind switch
        {
            JsonValueKind.Null => (double?)null,
            JsonValueKind.String when value.GetString()!.Trim().Length == 0 => null,
            JsonValueKind.String when double.TryParse(value.GetString(), System.Globalization.NumberStyles.Float,
                System.Globalization.CultureInfo.InvariantCulture, out var parsed) => parsed,
            JsonValueKind.Number when value.TryGetDouble(out var parsed) => parsed,
            _ => double.NaN,
        };
        if (number is null)
        {
            return Chats.Character.DefaultTalkativeness;
        }

        return number is >= 0 and <= 1
            ? number.Value
            : throw CardErrors.Invalid(field, $"data.extensions.talkativeness must be a number from 0 to 1 (or one as a string, such as \"0.5\"), not {Describe(value)}");
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetRawText().Length <= 32 ? value.GetRawText() : "a number out of range",
        JsonValueKind.String => value.GetString()!.Length <= 32 ? $"\"{value.GetString()}\"" : "a string that is no such number",
        _ => Kind(value),
    };

    /// <summary>How a value's type reads in a message: "a number", "an object"...</summary>
    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
