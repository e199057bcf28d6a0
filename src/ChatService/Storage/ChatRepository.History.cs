using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

internal sealed partial class ChatRepository
{
    /// <summary>
    /// Up to <paramref name="limit"/> turns with <c>Seq &lt; beforeSeq</c>, newest first; null when the
    /// chat does not exist or is not the user's. One read of the chat row, one range read of the
    /// chat's interleaved turns.
    /// </summary>
    public async Task<IReadOnlyList<ChatTurn>?> GetTurnsAsync(
        string userId, string chatId, long beforeSeq, int limit, CancellationToken cancellationToken)
    {
        if (await GetChatAsync(userId, chatId, cancellationToken) is null)
        {
            return null;
        }

        var rows = await database.QueryListAsync(
            new SpannerStatement($"{TurnSelect} WHERE t.ChatId = @chatId AND t.Seq < @beforeSeq ORDER BY t.Seq DESC LIMIT @limit")
                .Add("chatId", chatId)
                .Add("beforeSeq", beforeSeq)
                .Add("limit", (long)limit),
            cancellationToken: cancellationToken);
        return rows.Select(r => ReadTurn(chatId, r)).ToList();
    }
}
