namespace ChatService.Chats;

/// <summary>Chats: creation (with greetings), lookup, the user's list and deletion.</summary>
public sealed class ChatDirectory(IChatStore store, CharacterCatalog characters)
{
    public async Task<(Chat Chat, IReadOnlyList<ChatTurn> Greetings)> CreateAsync(
        string userId, IReadOnlyList<string> characterIds, string title, CancellationToken cancellationToken)
    {
        var cast = await characters.GetAllAsync(userId, characterIds, cancellationToken);
        var chatTitle = string.IsNullOrWhiteSpace(title) ? string.Join(", ", cast.Select(c => c.DisplayName)) : title;
        return await store.CreateChatAsync(userId, Text.Preview(chatTitle, 200), cast, cancellationToken);
    }

    public async Task<Chat> GetAsync(string userId, string chatId, CancellationToken cancellationToken) =>
        await store.GetChatAsync(userId, chatId, cancellationToken) ?? throw ChatException.ChatNotFound(chatId);

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
