using System.Buffers;
using System.Text;
using System.Text.Json;
using ChatService.Chats;

namespace ChatService.Cards;

/// <summary>
/// Writes a character as a Character Card: the fields it holds from its current definition, every
/// other field of the card it was imported from as it came (see <see cref="CardOutline"/>), in that
/// card's order, and any field the spec requires that the card lacked, after them. So an export of
/// an unchanged imported card is the card that was imported (numbers as written, keys in order).
/// </summary>
/// <remarks>
/// Across specs: a V2 export of a V3 card moves the <c>data</c> fields V2 does not have (assets,
/// nickname, group_only_greetings, creator_notes_multilingual, source, the dates and unknown ones)
/// into <c>data.extensions["chatservice/ccv3"]</c>, the one place V2 gives applications; a V3 export
/// of a V2 card takes them back out, so V3 → V2 → V3 loses nothing. The persona (a character's
/// definition in its author's words, which cards have no field for) is written as the description,
/// ahead of the description when there are both. A V3 export refreshes <c>modification_date</c>
/// once the character has been updated, and writes both dates for a character made here.
/// </remarks>
public sealed class CardWriter : IDisposable
{
    /// <summary>What a V2 copy of a V3 card says in its creator notes (the V3 spec asks for a warning there).</summary>
    public const string V2CopyNotice =
        "This card is a Character Card V3 read as a V2 card; open it in an application that reads V3 cards to see all of it.";

    private readonly Character _character;
    private readonly CardFormat _target;
    private readonly bool _v2Copy;
    private readonly JsonDocument? _outline;
    private readonly JsonElement? _card;
    private readonly JsonElement? _data;

    /// <summary>V3 fields a V2 export keeps in an extension.</summary>
    private readonly List<JsonProperty> _toExtensions = [];

    /// <summary>Fields a V3 export takes back out of that extension; null when it has none to take.</summary>
    private readonly List<JsonProperty>? _fromExtensions;

    private Utf8JsonWriter _writer = null!;

    private CardWriter(Character character, string? outline, CardFormat target, bool v2Copy)
    {
        _character = character;
        _target = target;
        _v2Copy = v2Copy;
        var source = (CardFormat)(character.CardSpec ?? (int)CardFormat.V3);
        if (outline is null)
        {
            return;
        }

        _outline = JsonDocument.Parse(outline, CardOutline.ReaderOptions);
        _card = Member(_outline.RootElement, CardOutline.CardKey);
        _data = Member(_outline.RootElement, CardOutline.DataKey);
        if (_data is not { } data)
        {
            return;
        }

        if (target == CardFormat.V2 && source == CardFormat.V3)
        {
            _toExtensions.AddRange(data.EnumerateObject().Where(p => !CardFields.V2Data.Contains(p.Name)));
        }
        else if (target == CardFormat.V3 && source == CardFormat.V2
            && Member(data, CardFields.Extensions) is { } extensions && Member(extensions, CardFields.V3InExtensions) is { ValueKind: JsonValueKind.Object } kept)
        {
            _fromExtensions = kept.EnumerateObject().Where(p => !CardFields.V2Data.Contains(p.Name)).ToList();
        }
    }

    /// <summary>
    /// The character, with the <paramref name="outline"/> of the card it was imported from (null for
    /// a character made here), as a card of <paramref name="target"/> spec. <paramref name="v2Copy"/>:
    /// the V2 card a V3 PNG carries next to the V3 one, whose creator notes begin with <see cref="V2CopyNotice"/>.
    /// </summary>
    /// <remarks>
    /// Compact, as the outline is stored, so a card is about the size of what is stored: indented (each
    /// bracket on a line of its own, two spaces a level), a deeply nested kept value would grow some
    /// 60 times, past anything an import takes.
    /// </remarks>
    public static string Write(Character character, string? outline, CardFormat target, bool v2Copy = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        WriteTo(buffer, character, outline, target, v2Copy);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The UTF-8 bytes <see cref="Write"/> would give, counted as they are written and not kept.</summary>
    public static long Size(Character character, string? outline, CardFormat target, bool v2Copy = false)
    {
        var counter = new ByteCounter();
        WriteTo(counter, character, outline, target, v2Copy);
        return counter.Count;
    }

    private static void WriteTo(IBufferWriter<byte> output, Character character, string? outline, CardFormat target, bool v2Copy)
    {
        using var writing = new CardWriter(character, outline, target, v2Copy);
        using (writing._writer = new Utf8JsonWriter(output, CardOutline.WriterOptions))
        {
            writing.WriteCard();
        }
    }

    public void Dispose() => _outline?.Dispose();

    /// <summary>Seconds since 1970 of the last update, once there was one.</summary>
    private long? Modified => _character.Version > 1 && _character.UpdateTime is { } updated ? updated.ToUnixTimeSeconds() : null;

    private void WriteCard()
    {
        var written = new HashSet<string>();
        _writer.WriteStartObject();
        foreach (var property in Properties(_card))
        {
            written.Add(property.Name);
            switch (property.Name)
            {
                case CardFields.Spec:
                    _writer.WriteString(CardFields.Spec, CardFields.Name(_target));
                    break;
                case CardFields.SpecVersion when (int)_target == _character.CardSpec:
                    property.WriteTo(_writer);
                    break;
                case CardFields.SpecVersion:
                    _writer.WriteString(CardFields.SpecVersion, CardFields.Version(_target));
                    break;
                case CardFields.Data:
                    WriteData();
                    break;
                default:
                    property.WriteTo(_writer);
                    break;
            }
        }

        if (written.Add(CardFields.Spec))
        {
            _writer.WriteString(CardFields.Spec, CardFields.Name(_target));
        }

        if (written.Add(CardFields.SpecVersion))
        {
            _writer.WriteString(CardFields.SpecVersion, CardFields.Version(_target));
        }

        if (written.Add(CardFields.Data))
        {
            WriteData();
        }

        _writer.WriteEndObject();
    }

    private void WriteData()
    {
        var written = new HashSet<string>();
        _writer.WriteStartObject(CardFields.Data);
        var moved = _toExtensions.Select(p => p.Name).ToHashSet();
        foreach (var property in Properties(_data))
        {
            if (!written.Add(property.Name) || moved.Contains(property.Name))
            {
                continue;
            }

            WriteDataField(property.Name, property);
        }

        foreach (var property in _fromExtensions ?? [])
        {
            if (written.Add(property.Name))
            {
                WriteDataField(property.Name, property);
            }
        }

        foreach (var name in CardFields.Mapped.Append(CardFields.Extensions))
        {
            if (written.Add(name))
            {
                WriteDataField(name, null);
            }
        }

        if (_target == CardFormat.V3)
        {
            if (written.Add(CardFields.GroupOnlyGreetings))
            {
                _writer.WriteStartArray(CardFields.GroupOnlyGreetings);
                _writer.WriteEndArray();
            }

            var made = _character.CardSpec is null;
            if (made && written.Add("creation_date"))
            {
                _writer.WriteNumber("creation_date", _character.CreateTime.ToUnixTimeSeconds());
            }

            if ((made || Modified is not null) && written.Add(CardFields.ModificationDate))
            {
                _writer.WriteNumber(CardFields.ModificationDate, Modified ?? _character.CreateTime.ToUnixTimeSeconds());
            }
        }

        _writer.WriteEndObject();
    }

    /// <summary>One field of <c>data</c>: the character's value for the fields it holds; otherwise <paramref name="kept"/> as it came.</summary>
    private void WriteDataField(string name, JsonProperty? kept)
    {
        var c = _character;
        switch (name)
        {
            case "name": _writer.WriteString(name, c.DisplayName); break;
            case "description": _writer.WriteString(name, string.Join("\n\n", new[] { c.Persona, c.Description }.Where(t => t.Length > 0))); break;
            case "personality": _writer.WriteString(name, c.Personality); break;
            case "scenario": _writer.WriteString(name, c.Scenario); break;
            case "first_mes": _writer.WriteString(name, c.Greeting ?? ""); break;
            case "mes_example": _writer.WriteString(name, c.ExampleDialogues); break;
            case "creator_notes": _writer.WriteString(name, _v2Copy ? string.Join("\n\n", new[] { V2CopyNotice, c.CreatorNotes }.Where(t => t.Length > 0)) : c.CreatorNotes); break;
            case "system_prompt": _writer.WriteString(name, c.SystemPrompt); break;
            case "post_history_instructions": _writer.WriteString(name, c.PostHistoryInstructions); break;
            case "alternate_greetings": WriteTexts(name, c.AlternateGreetings); break;
            case "tags": WriteTexts(name, c.Tags); break;
            case "creator": _writer.WriteString(name, c.Creator); break;
            case "character_version": _writer.WriteString(name, c.CharacterVersion); break;
            case CardFields.Extensions: WriteExtensions(kept?.Value); break;
            case CardFields.ModificationDate when _target == CardFormat.V3 && Modified is { } modified: _writer.WriteNumber(name, modified); break;
            default: kept?.WriteTo(_writer); break;
        }
    }

    /// <remarks>
    /// The character's talkativeness goes where the card had it: the kept value as written while it still
    /// reads as the character's (an unchanged card comes back byte for byte), else the character's value in
    /// the kept value's form (a string stays a string); a card without one gets one only when the
    /// character's is not the default, after the kept extensions.
    /// </remarks>
    private void WriteExtensions(JsonElement? kept)
    {
        _writer.WriteStartObject(CardFields.Extensions);
        var replaced = _toExtensions.Count > 0 || _fromExtensions is not null;
        var talkativenessWritten = false;
        foreach (var property in Properties(kept))
        {
            if (property.NameEquals(CardFields.Talkativeness) && !talkativenessWritten)
            {
                talkativenessWritten = true;
                WriteTalkativeness(property);
            }
            else if (!(replaced && property.NameEquals(CardFields.V3InExtensions)))
            {
                property.WriteTo(_writer);
            }
        }

        if (!talkativenessWritten && _character.Talkativeness != Character.DefaultTalkativeness)
        {
            _writer.WriteNumber(CardFields.Talkativeness, _character.Talkativeness);
        }

        if (_toExtensions.Count > 0)
        {
            _writer.WriteStartObject(CardFields.V3InExtensions);
            _toExtensions.ForEach(p => p.WriteTo(_writer));
            _writer.WriteEndObject();
        }

        _writer.WriteEndObject();
    }

    private void WriteTalkativeness(JsonProperty kept)
    {
        var current = _character.Talkativeness;
        var keptValue = kept.Value;
        var keptReads = keptValue.ValueKind switch
        {
            JsonValueKind.Number when keptValue.TryGetDouble(out var n) => n,
            JsonValueKind.String when double.TryParse(keptValue.GetString(), System.Globalization.NumberStyles.Float,
                System.Globalization.CultureInfo.InvariantCulture, out var n) => n,
            JsonValueKind.String when keptValue.GetString()!.Trim().Length == 0 => Character.DefaultTalkativeness,
            JsonValueKind.Null => Character.DefaultTalkativeness,
            _ => (double?)null,
        };
        if (keptReads == current)
        {
            kept.WriteTo(_writer);
        }
        else if (keptValue.ValueKind == JsonValueKind.String)
        {
            _writer.WriteString(CardFields.Talkativeness, current.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            _writer.WriteNumber(CardFields.Talkativeness, current);
        }
    }

    private void WriteTexts(string name, IEnumerable<string> texts)
    {
        _writer.WriteStartArray(name);
        foreach (var text in texts)
        {
            _writer.WriteStringValue(text);
        }

        _writer.WriteEndArray();
    }

    private static IEnumerable<JsonProperty> Properties(JsonElement? element) =>
        element is { ValueKind: JsonValueKind.Object } obj ? obj.EnumerateObject() : [];

    private static JsonElement? Member(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
}
