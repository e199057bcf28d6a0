namespace ChatService.Chats;

/// <summary>Reads a chat's turns, newest first, in pages: the first page from the chat's window, deeper ones from the store.</summary>
public sealed class ChatHistory(IChatStore store, IChatWindows windows)
{
    public async Task<Page<ChatTurn>> GetPageAsync(string userId, string chatId, int pageSize, string? pageToken, CancellationToken cancellationToken)
    {
        var beforeSeq = long.MaxValue;
        if (!string.IsNullOrEmpty(pageToken) && !PageToken.TryReadHistory(pageToken, chatId, out beforeSeq))
        {
            throw new ChatException(ChatErrorKind.InvalidArgument, "page_token is not a token from a previous GetHistory call on this chat", "page_token");
        }

        var turns = (beforeSeq == long.MaxValue && pageSize <= windows.MaxTurns
                ? await FromWindowAsync(userId, chatId, pageSize, cancellationToken)
                : null)
            ?? await store.GetTurnsAsync(userId, chatId, beforeSeq, pageSize, cancellationToken)
            ?? throw ChatException.ChatNotFound(chatId);
        var next = turns.Count == pageSize && turns[^1].Seq > 1 ? PageToken.ForHistory(chatId, turns[^1].Seq) : null;
        return new Page<ChatTurn>(turns, next);
    }

    /// <summary>The first page from the window; null when the window holds too little and the store must answer.</summary>
    private async Task<IReadOnlyList<ChatTurn>?> FromWindowAsync(string userId, string chatId, int pageSize, CancellationToken cancellationToken)
    {
        var window = await windows.GetAsync(chatId, pageSize, cancellationToken);
        if (window is null || window.UserId != userId)
        {
            throw ChatException.ChatNotFound(chatId);
        }

        // The window holds the newest turns contiguously; it answers unless the page reaches past it.
        var complete = window.NewestFirst.Count >= pageSize || window.NewestFirst.Count == window.LastSeq;
        return complete ? window.NewestFirst.Take(pageSize).ToList() : null;
    }
}
