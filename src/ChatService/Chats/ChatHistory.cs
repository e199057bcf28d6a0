namespace ChatService.Chats;

/// <summary>Reads a chat's turns, newest first, in pages.</summary>
public sealed class ChatHistory(IChatStore store)
{
    public async Task<Page<ChatTurn>> GetPageAsync(string userId, string chatId, int pageSize, string? pageToken, CancellationToken cancellationToken)
    {
        var beforeSeq = long.MaxValue;
        if (!string.IsNullOrEmpty(pageToken) && !PageToken.TryReadHistory(pageToken, chatId, out beforeSeq))
        {
            throw new ChatException(ChatErrorKind.InvalidArgument, "page_token is not a token from a previous GetHistory call on this chat", "page_token");
        }

        var turns = await store.GetTurnsAsync(userId, chatId, beforeSeq, pageSize, cancellationToken)
            ?? throw ChatException.ChatNotFound(chatId);
        var next = turns.Count == pageSize && turns[^1].Seq > 1 ? PageToken.ForHistory(chatId, turns[^1].Seq) : null;
        return new Page<ChatTurn>(turns, next);
    }
}
