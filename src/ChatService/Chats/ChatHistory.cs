namespace ChatService.Chats;

/// <summary>Reads a chat's turns, newest first, in pages: the first page from the chat's window, deeper ones from the store.</summary>
public sealed class ChatHistory(IChatStore store, IChatWindows windows)
{
    public async Task<HistoryPage> GetPageAsync(string userId, string chatId, int pageSize, string? pageToken, CancellationToken cancellationToken)
    {
        var beforeSeq = long.MaxValue;
        if (!string.IsNullOrEmpty(pageToken) && !PageToken.TryReadHistory(pageToken, chatId, out beforeSeq))
        {
            throw new ChatException(ChatErrorKind.InvalidArgument, "page_token is not a token from a previous GetHistory call on this chat", "page_token");
        }

        if (beforeSeq == long.MaxValue && pageSize <= windows.MaxTurns && await FromWindowAsync(userId, chatId, pageSize, cancellationToken) is { } first)
        {
            return first;
        }

        // Deeper pages (and first pages the window cannot answer) come from the store, which skips hidden turns.
        var turns = await store.GetTurnsAsync(userId, chatId, beforeSeq, pageSize, cancellationToken) ?? throw ChatException.ChatNotFound(chatId);
        var next = turns.Count == pageSize && turns[^1].Seq > 1 ? PageToken.ForHistory(chatId, turns[^1].Seq) : null;
        return new HistoryPage(turns, null, turns.Count, next);
    }

    /// <summary>The first page from the window's head, as encoded; null when the window holds too little and the store must answer.</summary>
    private async Task<HistoryPage?> FromWindowAsync(string userId, string chatId, int pageSize, CancellationToken cancellationToken)
    {
        var head = await windows.GetHeadAsync(chatId, pageSize, cancellationToken);
        if (head is null || head.UserId != userId)
        {
            throw ChatException.ChatNotFound(chatId);
        }

        // The head holds the newest shown turns; it answers unless the page reaches past it.
        var count = Math.Min(pageSize, head.Turns.Count);
        if (count < pageSize && !head.Complete)
        {
            return null;
        }

        var oldest = count == 0 ? 1 : head.Turns.SeqAt(count - 1);
        var next = count == pageSize && oldest > 1 && !(head.Complete && head.Turns.Count == count) ? PageToken.ForHistory(chatId, oldest) : null;
        return new HistoryPage(null, head.Turns, count, next);
    }
}

/// <summary>
/// A page of history, newest first: <see cref="Count"/> turns, either decoded (read from the store)
/// or the newest of <see cref="Encoded"/> (from the window, in wire form).
/// </summary>
public sealed record HistoryPage(IReadOnlyList<ChatTurn>? Turns, EncodedTurns? Encoded, int Count, string? NextPageToken);
