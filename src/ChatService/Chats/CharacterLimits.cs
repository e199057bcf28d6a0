using System.Text;

namespace ChatService.Chats;

/// <summary>
/// The sizes a character may have (README "Characters"), and the rules that concern the
/// definition as a whole, checked on the character as it would be stored: after a create, or after
/// an update has replaced some fields of the current version. Each field's own bounds are checked
/// where a request is read (Api/RequestValidator).
/// </summary>
public static class CharacterLimits
{
    public const int MaxDisplayNameLength = 100;
    // Cards from character sites carry dozens of greetings and tags and long notes; these bounds take them.
    public const int MaxAlternateGreetings = 64;
    public const int MaxCreatorNotesChars = 32_000;
    public const int MaxTags = 32;
    public const int MaxTagLength = 32;
    public const int MaxAvatarUrlLength = 2048;
    public const int MaxCreatorChars = 256;
    public const int MaxCharacterVersionChars = 256;

    /// <summary>
    /// A character must define something (a persona or a description), and its definition (the texts
    /// a prompt carries) is at most <paramref name="maxDefinitionChars"/> Unicode code points in all.
    /// Refusals are INVALID_ARGUMENT naming the field at fault, <paramref name="fieldPrefix"/> first
    /// (e.g. <c>character.</c> for UpdateCharacter): for a definition too large, the largest of the
    /// <paramref name="changed"/> sections (what the request can shorten), else the largest.
    /// </summary>
    public static void CheckDefinition(Character character, int maxDefinitionChars, string fieldPrefix = "", CharacterFields changed = CharacterFields.All)
    {
        if (string.IsNullOrWhiteSpace(character.Persona) && string.IsNullOrWhiteSpace(character.Description))
        {
            throw new ChatException(ChatErrorKind.InvalidArgument,
                $"{fieldPrefix}persona must not be empty unless {fieldPrefix}description is given: a character must define something", fieldPrefix + "persona");
        }

        var sections = DefinitionSections(character);
        var total = sections.Sum(s => s.Length);
        if (total > maxDefinitionChars)
        {
            var largest = sections.Where(s => (s.Flag & changed) != 0).DefaultIfEmpty(sections.MaxBy(s => s.Length)).MaxBy(s => s.Length);
            throw new ChatException(ChatErrorKind.InvalidArgument,
                $"the definition (persona, description, personality, scenario, example_dialogues, system_prompt and post_history_instructions together) " +
                $"is {total} characters; the most is {maxDefinitionChars} ({fieldPrefix}{largest.Field} has {largest.Length})",
                fieldPrefix + largest.Field);
        }
    }

    /// <summary>
    /// Whether <paramref name="tag"/> can be a tag, however it arrives (CreateCharacter, UpdateCharacter,
    /// a card import): 1..<see cref="MaxTagLength"/> Unicode code points of letters, digits, spaces, '-'
    /// and '_', not starting or ending with a space.
    /// </summary>
    public static bool IsValidTag(string tag)
    {
        var length = CodePoints(tag);
        return length is > 0 and <= MaxTagLength && tag[0] != ' ' && tag[^1] != ' '
            && tag.EnumerateRunes().All(r => Rune.IsLetterOrDigit(r) || r.Value is ' ' or '-' or '_');
    }

    /// <summary>Whether <c>tags[index]</c> repeats an earlier tag: tags are labels, so case does not tell two apart (the catalog finds both by the same terms).</summary>
    public static bool RepeatsEarlierTag(IReadOnlyList<string> tags, int index) =>
        tags.Take(index).Any(t => string.Equals(t, tags[index], StringComparison.OrdinalIgnoreCase));

    /// <summary>The rule <see cref="IsValidTag"/> checks, for messages.</summary>
    public static readonly string TagRule = $"1..{MaxTagLength} characters of letters, digits, spaces, '-' and '_', not starting or ending with a space";

    /// <summary>Unicode code points, as the limits count characters (an emoji is one, not two UTF-16 units).</summary>
    public static int CodePoints(string text)
    {
        var count = 0;
        foreach (var _ in text.EnumerateRunes())
        {
            count++;
        }

        return count;
    }

    private static (string Field, CharacterFields Flag, int Length)[] DefinitionSections(Character c) =>
    [
        ("persona", CharacterFields.Persona, CodePoints(c.Persona)),
        ("description", CharacterFields.Description, CodePoints(c.Description)),
        ("personality", CharacterFields.Personality, CodePoints(c.Personality)),
        ("scenario", CharacterFields.Scenario, CodePoints(c.Scenario)),
        ("example_dialogues", CharacterFields.ExampleDialogues, CodePoints(c.ExampleDialogues)),
        ("system_prompt", CharacterFields.SystemPrompt, CodePoints(c.SystemPrompt)),
        ("post_history_instructions", CharacterFields.PostHistoryInstructions, CodePoints(c.PostHistoryInstructions)),
    ];
}
