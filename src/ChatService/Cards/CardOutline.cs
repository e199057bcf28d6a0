using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ChatService.Cards;

/// <summary>
/// What a character keeps of the card it was imported from (its StoredCard), so that an export gives
/// back what was imported: the card's top-level fields and its <c>data</c> fields, each in the
/// card's order. The value of every field the character holds as a property of its own is replaced
/// by null (the export writes the character's current value there, so updates show), and so is
/// <c>data</c> at the top level; every other value is kept exactly as it came (numbers as written):
/// <code>{"card": {"spec": "chara_card_v2", "spec_version": "2.0", "data": null}, "data": {"name": null, ..., "extensions": {...}}}</code>
/// </summary>
internal static class CardOutline
{
    public const string CardKey = "card";
    public const string DataKey = "data";

    /// <summary>
    /// Text of the Basic Multilingual Plane is written as UTF-8, not escaped (the outline never
    /// reaches HTML); a character outside it, such as an emoji, is still written as a \u escape of
    /// each half of its surrogate pair (12 bytes rather than 4), as every encoder of System.Text.Json
    /// does. <see cref="CardLimits.MaxKeptBytes"/> counts the outline as written, escapes included.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// How an outline is read back: a field at the card's top level is one level deeper in it (under
    /// <c>"card"</c>) than in the card, so it may nest one level more than a card may.
    /// </summary>
    public static readonly JsonDocumentOptions ReaderOptions = new() { MaxDepth = CardLimits.MaxJsonDepth + 1 };

    /// <summary>The outline of <paramref name="card"/>, whose <c>data</c> object is <paramref name="data"/>, as UTF-8 JSON.</summary>
    public static ReadOnlyMemory<byte> Write(JsonElement card, JsonElement data)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WritePropertyName(CardKey);
            WriteMarked(writer, card, name => name == CardFields.Data);
            writer.WritePropertyName(DataKey);
            WriteMarked(writer, data, CardFields.MappedSet.Contains);
            writer.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }

    private static void WriteMarked(Utf8JsonWriter writer, JsonElement obj, Func<string, bool> marked)
    {
        writer.WriteStartObject();
        foreach (var property in obj.EnumerateObject())
        {
            if (marked(property.Name))
            {
                writer.WriteNull(property.Name);
            }
            else
            {
                property.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
    }
}
