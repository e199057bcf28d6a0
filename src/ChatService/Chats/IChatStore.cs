namespace ChatService.Chats;

/// <summary>
/// Durable storage of characters, chats and turns (Spanner in production). Methods that take a
/// user id return null/false for another user's chat, exactly as for a missing one.
/// </summary>
public interface IChatStore
{
    Task<Character> InsertCharacterAsync(Character character, CancellationToken cancellationToken);

    Task<Character?> GetCharacterAsync(string id, CancellationToken cancellationToken);

    /// <summary>The characters with these ids that exist, in any order.</summary>
    Task<IReadOnlyList<Character>> GetCharactersAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    /// <summary>A new chat and its greeting turns, in one commit.</summary>
    Task<(Chat Chat, IReadOnlyList<ChatTurn> Greetings)> CreateChatAsync(
        string userId, string title, IReadOnlyList<Character> characters, CancellationToken cancellationToken);

    Task<Chat?> GetChatAsync(string userId, string chatId, CancellationToken cancellationToken);

    /// <summary>The user's chats, most recently active first, after the given cursor.</summary>
    Task<IReadOnlyList<Chat>> ListChatsAsync(
        string userId, (DateTimeOffset LastActiveTime, string ChatId)? after, int limit, CancellationToken cancellationToken);

    Task<bool> DeleteChatAsync(string userId, string chatId, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> turns with seq below <paramref name="beforeSeq"/>, newest first.</summary>
    Task<IReadOnlyList<ChatTurn>?> GetTurnsAsync(string userId, string chatId, long beforeSeq, int limit, CancellationToken cancellationToken);

    /// <summary>The chat's newest <paramref name="turns"/> turns with its owner and cast, in one read; null if there is no such chat.</summary>
    Task<ChatWindow?> LoadWindowAsync(string chatId, int turns, CancellationToken cancellationToken);

    /// <summary>Records a user turn and its owed replies in one transaction; idempotent on the request id.</summary>
    Task<SendReceipt> RecordSendAsync(SendCommand command, CancellationToken cancellationToken);
}
