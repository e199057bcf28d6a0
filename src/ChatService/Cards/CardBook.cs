using System.Text.Json;
using ChatService.Chats;
using ChatService.Inference;

namespace ChatService.Cards;

/// <summary>
/// A card's <c>data.character_book</c> as a lorebook for the imported character. The card keeps the
/// book as it came (its outline, so an export gives it back unchanged, extensions and unknown fields
/// included); this is the copy that replies use. Fields: the V2 spec's (<c>keys</c>, <c>content</c>,
/// <c>enabled</c>, <c>insertion_order</c>, <c>case_sensitive</c>, <c>selective</c>,
/// <c>secondary_keys</c>, <c>constant</c>, <c>position</c> before_char/after_char, <c>comment</c>/<c>name</c>),
/// V3's <c>use_regex</c>, and SillyTavern's entry extensions <c>position</c> 4 with <c>depth</c>
/// (at depth), <c>scan_depth</c>, <c>case_sensitive</c> and <c>match_whole_words</c>. Blank keys are
/// skipped; an entry left without keys (and not constant) is imported disabled. What the rules of a
/// lorebook refuse (<see cref="LorebookRules"/>), such as a regular expression that does not compile,
/// refuses the card, naming the JSON path.
/// </summary>
public static class CardBook
{
    private const string BookPath = "data.character_book";

    /// <summary>The book of <paramref name="data"/> (owner, id and character set at import), or null when the card has none.</summary>
    public static Lorebook? Read(JsonElement data, string cardName, string field)
    {
        if (!data.TryGetProperty("character_book", out var book) || book.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var entries = new List<LoreEntry>();
        if (book.TryGetProperty("entries", out var items) && items.ValueKind == JsonValueKind.Array)
        {
            if (items.GetArrayLength() > LoreLimits.MaxEntries)
            {
                throw CardErrors.Invalid(field, $"{BookPath}.entries: a lorebook has at most {LoreLimits.MaxEntries} entries, got {items.GetArrayLength()}");
            }

            var i = 0;
            foreach (var item in items.EnumerateArray())
            {
                entries.Add(Entry(item, i, $"{BookPath}.entries[{i}]", field));
                i++;
            }
        }

        var name = Text(book, "name", $"{BookPath}.name", field);
        var lorebook = new Lorebook("", "", string.IsNullOrWhiteSpace(name) ? DefaultName(cardName) : name.Trim())
        {
            Description = Text(book, "description", $"{BookPath}.description", field),
            ScanDepth = Number(book, "scan_depth", $"{BookPath}.scan_depth", field) ?? LoreLimits.DefaultScanDepth,
            TokenBudget = Number(book, "token_budget", $"{BookPath}.token_budget", field) ?? 0,
            Entries = entries,
        };
        LorebookRules.Check(lorebook, (path, problem) => CardErrors.Invalid(field, $"{BookPath}.{path} {problem}"));
        return lorebook;
    }

    private static string DefaultName(string cardName)
    {
        var name = $"{cardName.Trim()}'s lorebook".Trim();
        name = new string(name.Where(c => !char.IsControl(c)).ToArray());
        return name.Length is > 0 and <= LoreLimits.MaxNameChars && name != "'s lorebook" ? name : "Character lorebook";
    }

    private static LoreEntry Entry(JsonElement item, int index, string path, string field)
    {
        var extensions = item.TryGetProperty("extensions", out var e) && e.ValueKind == JsonValueKind.Object ? e : default;
        bool HasExtensions() => extensions.ValueKind == JsonValueKind.Object;
        var keys = Keys(item, "keys", $"{path}.keys", field);
        var constant = Bool(item, "constant", $"{path}.constant", field) ?? false;
        var comment = Text(item, "comment", $"{path}.comment", field);
        if (comment.Length == 0)
        {
            comment = Text(item, "name", $"{path}.name", field);
        }

        var position = Text(item, "position", $"{path}.position", field) switch
        {
            "before_char" => LorePosition.BeforeDefinition,
            "after_char" => LorePosition.AfterDefinition,
            _ => LorePosition.BeforeHistory,
        };
        var depth = LoreLimits.DefaultDepth;
        if (HasExtensions() && Number(extensions, "position", $"{path}.extensions.position", field) == 4)
        {
            position = LorePosition.AtDepth;
            depth = Number(extensions, "depth", $"{path}.extensions.depth", field) ?? LoreLimits.DefaultDepth;
        }

        var content = Text(item, "content", $"{path}.content", field);
        (content, var decoratedDepth, var decoratedConstant) = Decorators(content);
        if (decoratedDepth is { } atDepth)
        {
            position = LorePosition.AtDepth;
            depth = atDepth;
        }

        constant |= decoratedConstant;
        return new LoreEntry((index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            Comment = comment,
            Keys = keys,
            SecondaryKeys = Keys(item, "secondary_keys", $"{path}.secondary_keys", field),
            Selective = Bool(item, "selective", $"{path}.selective", field) ?? false,
            UseRegex = Bool(item, "use_regex", $"{path}.use_regex", field) ?? false,
            CaseSensitive = Bool(item, "case_sensitive", $"{path}.case_sensitive", field)
                ?? (HasExtensions() ? Bool(extensions, "case_sensitive", $"{path}.extensions.case_sensitive", field) : null) ?? false,
            MatchWholeWords = (HasExtensions() ? Bool(extensions, "match_whole_words", $"{path}.extensions.match_whole_words", field) : null) ?? true,
            Content = content,
            Constant = constant,
            Enabled = (Bool(item, "enabled", $"{path}.enabled", field) ?? true) && (constant || keys.Count > 0),
            Position = position,
            Order = Number(item, "insertion_order", $"{path}.insertion_order", field) ?? 100,
            Depth = depth,
            ScanDepth = HasExtensions() ? Number(extensions, "scan_depth", $"{path}.extensions.scan_depth", field) : null,
        };
    }

    /// <summary>
    /// V3 decorators: the lines at the start of the content that begin with <c>@@</c> are taken out;
    /// <c>@@depth N</c> places the entry at depth N and <c>@@constant</c> makes it constant. Others are
    /// left out of the content and otherwise ignored.
    /// </summary>
    private static (string Content, int? Depth, bool Constant) Decorators(string content)
    {
        int? depth = null;
        var constant = false;
        while (content.StartsWith("@@", StringComparison.Ordinal))
        {
            var end = content.IndexOf('\n', StringComparison.Ordinal);
            var line = (end < 0 ? content : content[..end]).Trim();
            content = end < 0 ? "" : content[(end + 1)..];
            var parts = line[2..].Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && parts[0] == "depth" && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
            {
                depth = n;
            }
            else if (parts.Length == 1 && parts[0] == "constant")
            {
                constant = true;
            }
        }

        return (content, depth, constant);
    }

    private static List<string> Keys(JsonElement item, string name, string path, string field)
    {
        if (!item.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(k => k.ValueKind != JsonValueKind.String))
        {
            throw CardErrors.Invalid(field, $"{path} must be an array of strings");
        }

        return value.EnumerateArray().Select(k => k.GetString()!).Where(k => !string.IsNullOrWhiteSpace(k)).ToList();
    }

    private static string Text(JsonElement obj, string name, string path, string field) =>
        !obj.TryGetProperty(name, out var value) ? "" : value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Null => "",
            _ => throw CardErrors.Invalid(field, $"{path} must be a string"),
        };

    private static bool? Bool(JsonElement obj, string name, string path, string field) =>
        !obj.TryGetProperty(name, out var value) ? null : value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Null => null,
            _ => throw CardErrors.Invalid(field, $"{path} must be a boolean"),
        };

    /// <summary>A whole number (a fraction is cut toward zero; beyond the range of a 32-bit number, the bound), or null when absent or null.</summary>
    private static int? Number(JsonElement obj, string name, string path, string field)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw CardErrors.Invalid(field, $"{path} must be a number");
        }

        return value.TryGetInt32(out var whole) ? whole : (int)Math.Clamp(Math.Truncate(value.GetDouble()), int.MinValue, int.MaxValue);
    }
}
