using ChatService.Chats;

namespace ChatService.Storage;

/// <summary>
/// What an entry of the replica's definitions cache keeps alive, estimated in bytes: the <c>Size</c> each
/// entry counts against <see cref="DefinitionCacheOptions.DefinitionsMemoryBytes"/>. Strings are UTF-16
/// (2 bytes a char) plus <see cref="ObjectBytes"/> each; every object, list and cache entry adds a fixed
/// overhead. The figures round up: the sum of the entries' sizes is meant to be at least the memory they hold.
/// <para>
/// A character is counted with the prompt copy a reply makes of it (<c>PromptBuilder.Prepared</c>, kept with
/// the cached instance for as long as it lives). That copy is made only when the character first speaks,
/// after its entry is cached, and an entry's size cannot change once set; so every character is counted
/// with it up front, from its definition: the first system message joined from its sections (a second copy
/// of its prompt texts) and a placeholder-replaced copy of each text that has a placeholder in it (a text
/// without one is shared, not copied), with room for the names and the service's system prompt the
/// placeholders may bring in. A character that never speaks here is over-counted by that share. The user's
/// persona in the same copy is counted with the persona, in the reply's kept definitions
/// (<see cref="Of(ReplyDefinitions)"/>).
/// </para>
/// </summary>
internal static class DefinitionBytes
{
    /// <summary>An object's header and type pointer, a string's length and terminator, rounded up.</summary>
    internal const long ObjectBytes = 32;

    /// <summary>What the cache itself keeps per entry (its entry object, options, key and links), rounded up.</summary>
    internal const long EntryBytes = 256;

    private const long ReferenceBytes = 8;

    /// <summary>The longest name <c>{{user}}</c> becomes: a persona's name (RequestValidator.MaxPersonaNameChars).</summary>
    private const int LongestUserName = Api.RequestValidator.MaxPersonaNameChars;

    /// <summary>
    /// Room in a prepared copy for the service's system prompt (Dispatch:SystemPrompt), which the first system
    /// message holds when the character has no system prompt of its own or says <c>{{original}}</c> in it, and
    /// for the sections' labels: a configured system prompt longer than this is under-counted by the difference.
    /// </summary>
    private const long ServicePromptBytes = 4 * 1024;

    /// <summary>The prepared copy's fixed part: its objects, its list of sections, their records and token counts.</summary>
    private const long PreparedObjectsBytes = 1024;

    /// <summary>A string of <paramref name="text"/>'s length; nothing for null.</summary>
    public static long Text(string? text) => text is null ? 0 : ObjectBytes + (2L * text.Length);

    /// <summary>A list of strings: the list, its array and each string.</summary>
    public static long Texts(IReadOnlyCollection<string> texts)
    {
        var bytes = (2 * ObjectBytes) + (ReferenceBytes * texts.Count);
        foreach (var text in texts)
        {
            bytes += Text(text);
        }

        return bytes;
    }

    /// <summary>A cached character: the cache's entry, the record, all its texts, and its prompt's prepared copy (<see cref="PreparedOf"/>).</summary>
    public static long Of(Character character) =>
        EntryBytes + CharacterBytes(character) + PreparedOf(character);

    /// <summary>A cached lorebook: the cache's entry, the record and its entries with their texts and keys.</summary>
    public static long Of(Lorebook book) => EntryBytes + BookBytes(book);

    /// <summary>
    /// A reply's kept definitions (<c>DefinitionTokens</c>, one entry per chat and speaker): its keys and tokens,
    /// and in full every character, book and persona it holds. The characters and books are the stores' cached
    /// instances as often as not, counted again here: the kept copy holds them whatever the stores let go (or
    /// replace with a newer version), so only counting them in both keeps the sum of the sizes above the memory
    /// held. Only the speaker's prompt copy is counted (<see cref="PreparedOf"/>): the other members' copies are
    /// counted by their own entries as speakers, and counting every member's in every speaker's entry would
    /// make a group chat of large cards cost its cast size squared.
    /// </summary>
    public static long Of(
        ReplyDefinitions definitions, string speakerId, IReadOnlyCollection<string> keys, IReadOnlyCollection<string>? tokens, IReadOnlyCollection<string> bookKeys)
    {
        var bytes = EntryBytes + (4 * ObjectBytes) + Texts(keys) + (tokens is null ? 0 : Texts(tokens)) + Texts(bookKeys);

        // The cast's dictionary: buckets and entries (hash, next, key, value), and each character.
        bytes += (2 * ObjectBytes) + (definitions.Cast.Count * (4 * ReferenceBytes));
        foreach (var (id, character) in definitions.Cast)
        {
            bytes += Text(id) + CharacterBytes(character) + (id == speakerId ? PreparedOf(character) : 0);
        }

        foreach (var book in definitions.Lorebooks)
        {
            bytes += ReferenceBytes + BookBytes(book);
        }

        if (definitions.Persona is { } persona)
        {
            bytes += PersonaBytes(persona);
        }

        return bytes;
    }

    /// <summary>A cache entry that only points at another (a chat's last kept definitions): its key and the key it holds.</summary>
    public static long Pointer(params string[] texts)
    {
        var bytes = EntryBytes + (4 * ObjectBytes);
        foreach (var text in texts)
        {
            bytes += Text(text);
        }

        return bytes;
    }

    /// <summary>
    /// The character's share of its prompt's prepared copy, estimated from its definition: the first system
    /// message joined from the prompt texts (all of them but the post-history instructions, counted with them
    /// anyway), a replaced copy of each text that has a placeholder in it, each placeholder grown to the
    /// longest name it may become, and room for the service's system prompt and the labels.
    /// </summary>
    public static long PreparedOf(Character character)
    {
        long chars = 0;
        long replaced = 0;
        foreach (var text in PromptTexts(character))
        {
            var grown = text.Length + Growth(text, character.DisplayName.Length);
            chars += grown;
            if (text.Contains("{{", StringComparison.Ordinal))
            {
                replaced += ObjectBytes + (2 * grown);
            }
        }

        return PreparedObjectsBytes + (2 * ServicePromptBytes) + ObjectBytes + (2 * chars) + replaced;
    }

    private static long CharacterBytes(Character c) =>
        ObjectBytes + (32 * ReferenceBytes)
        + Text(c.Id) + Text(c.OwnerUserId) + Text(c.DisplayName) + Text(c.Persona) + Text(c.Greeting) + Text(c.ModelRoute)
        + Text(c.Description) + Text(c.Personality) + Text(c.Scenario) + Text(c.ExampleDialogues) + Text(c.SystemPrompt)
        + Text(c.PostHistoryInstructions) + Texts(c.AlternateGreetings) + Text(c.CreatorNotes) + Texts(c.Tags)
        + Text(c.AvatarUrl) + Text(c.Creator) + Text(c.CharacterVersion);

    private static long BookBytes(Lorebook book)
    {
        var bytes = ObjectBytes + (12 * ReferenceBytes)
            + Text(book.Id) + Text(book.OwnerUserId) + Text(book.Name) + Text(book.Description) + Text(book.CharacterId)
            + (2 * ObjectBytes) + (ReferenceBytes * book.Entries.Count);
        foreach (var entry in book.Entries)
        {
            bytes += ObjectBytes + (16 * ReferenceBytes) + Text(entry.Id) + Text(entry.Comment) + Text(entry.Content)
                + Texts(entry.Keys) + Texts(entry.SecondaryKeys);
        }

        return bytes;
    }

    /// <summary>
    /// A persona with its share of the speaker's prepared copy: its description in the first system message, in
    /// the persona part the copy keeps apart, and replaced when it has a placeholder.
    /// </summary>
    private static long PersonaBytes(UserPersona persona)
    {
        var description = persona.Description.Length + Growth(persona.Description, CharacterLimits.MaxDisplayNameLength);
        return ObjectBytes + (10 * ReferenceBytes)
            + Text(persona.Id) + Text(persona.UserId) + Text(persona.Name) + Text(persona.Description) + Texts(persona.CharacterIds)
            + (3 * (ObjectBytes + (2 * (description + persona.Name.Length + 32))));
    }

    private static IEnumerable<string> PromptTexts(Character c) =>
        [c.SystemPrompt, c.Persona, c.Description, c.Personality, c.Scenario, c.ExampleDialogues, c.PostHistoryInstructions, c.DisplayName];

    /// <summary>
    /// How many chars longer <paramref name="text"/> may be with its placeholders replaced: <c>{{char}}</c> by a
    /// name of <paramref name="characterNameLength"/>, <c>{{user}}</c> by the longest persona name.
    /// (<c>{{original}}</c>, the service's system prompt, has its room in <see cref="ServicePromptBytes"/>.)
    /// </summary>
    private static long Growth(string text, int characterNameLength)
    {
        if (!text.Contains("{{", StringComparison.Ordinal))
        {
            return 0;
        }

        return (Count(text, "{{char}}") * Math.Max(0, characterNameLength - "{{char}}".Length))
            + (Count(text, "{{user}}") * (LongestUserName - "{{user}}".Length));
    }

    private static long Count(string text, string placeholder)
    {
        long count = 0;
        for (var at = text.IndexOf(placeholder, StringComparison.OrdinalIgnoreCase); at >= 0;
             at = text.IndexOf(placeholder, at + placeholder.Length, StringComparison.OrdinalIgnoreCase))
        {
            count++;
        }

        return count;
    }
}
