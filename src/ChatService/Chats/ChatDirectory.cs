using Microsoft.Extensions.Options;

namespace ChatService.Chats;

/// <summary>Chats: creation (with greetings), lookup, the user's list and deletion.</summary>
public sealed class ChatDirectory(IChatStore store, CharacterCatalog characters, PersonaDirectory personas, IOptions<ChatOptions> options)
{
    /// <summary>
    /// A new chat of the user's with these characters, its greetings recorded as its first turns:
    /// greeting <paramref name="greetingIndex"/> of each (0 the greeting, n its alternate greeting n),
    /// with <c>{{char}}</c> and <c>{{user}}</c> replaced as of now. A one-to-one chat whose character has
    /// no such greeting is INVALID_ARGUMENT; in a group, a character with fewer falls back to its greeting.
    /// <paramref name="personaId"/>, when given, pins the chat to that persona of the user's (NOT_FOUND otherwise).
    /// <paramref name="speakers"/> (the default when null) must mute only members, and not all of them.
    /// </summary>
    public async Task<(Chat Chat, IReadOnlyList<ChatTurn> Greetings)> CreateAsync(
        string userId, IReadOnlyList<string> characterIds, string title, string? personaId, int greetingIndex, CancellationToken cancellationToken,
        SpeakerSettings? speakers = null)
    {
        speakers ??= SpeakerSettings.Default;
        speakers.CheckAgainst(characterIds, "muted_character_ids");
        var cast = await characters.GetAllAsync(userId, characterIds, cancellationToken);
        if (cast.Count == 1 && greetingIndex > cast[0].AlternateGreetings.Count)
        {
            throw new ChatException(ChatErrorKind.InvalidArgument,
                $"greeting_index {greetingIndex} is past the {cast[0].AlternateGreetings.Count} alternate greetings character {cast[0].Id} has", "greeting_index");
        }

        var speakingAs = await personas.ForNewChatAsync(userId, personaId, characterIds, cancellationToken);
        // A greeting is bounded as a message is, and stays so once its placeholders are replaced (a name
        // repeated a thousand times would otherwise grow it far past what any other turn may hold).
        var greetings = cast.Select(c => Greeting(c, greetingIndex) is { } text
            ? Text.WithinUtf8Bytes(Macros.Expand(text, c.DisplayName, speakingAs.GetValueOrDefault(c.Id)?.Name ?? Macros.DefaultUserName), options.Value.MaxMessageBytes)
            : null).ToList();
        var chatTitle = ChatTitles.ShowsNothing(title) ? ChatTitles.OfCast(cast.Select(c => c.DisplayName)) : Text.Preview(title, ChatTitles.MaxLength);
        var opening = new ChatOpening(personaId, greetings) { Speakers = speakers with { Muted = [.. characterIds.Where(speakers.IsMuted)] } };
        return await store.CreateChatAsync(userId, chatTitle, cast, opening, cancellationToken);
    }

    /// <summary>The greeting a chat opens with: alternate greeting n for index n when the character has it, else its greeting (if any).</summary>
    private static string? Greeting(Character character, int index) =>
        index > 0 && index <= character.AlternateGreetings.Count ? character.AlternateGreetings[index - 1] : character.Greeting;

    public async Task<Chat> GetAsync(string userId, string chatId, CancellationToken cancellationToken) =>
        await store.GetChatAsync(userId, chatId, cancellationToken) ?? throw ChatException.ChatNotFound(chatId);

    /// <summary>Replaces the chat's speaker settings the update names (the owner's chat only; another user's is NOT_FOUND).</summary>
    public Task<Chat> UpdateSpeakersAsync(string userId, ChatSettingsUpdate update, CancellationToken cancellationToken) =>
        store.UpdateSpeakersAsync(userId, update, cancellationToken);

    public async Task<Page<Chat>> ListAsync(string userId, int pageSize, string? pageToken, CancellationToken cancellationToken)
    {
        (DateTimeOffset, string)? after = null;
        if (!string.IsNullOrEmpty(pageToken))
        {
            after = PageToken.TryReadChatList(pageToken, userId, out var cursor)
                ? cursor
                : throw new ChatException(ChatErrorKind.InvalidArgument, "page_token is not a token from a previous ListChats call of this user", "page_token");
        }

        var chats = await store.ListChatsAsync(userId, after, pageSize + 1, cancellationToken);
        return Page<Chat>.FromRows(chats, pageSize, last => PageToken.ForChatList(userId, last.LastActiveTime, last.Id));
    }

    public async Task DeleteAsync(string userId, string chatId, CancellationToken cancellationToken)
    {
        if (!await store.DeleteChatAsync(userId, chatId, cancellationToken))
        {
            throw ChatException.ChatNotFound(chatId);
        }
    }
}
