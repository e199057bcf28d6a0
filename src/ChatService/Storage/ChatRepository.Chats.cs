using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

internal sealed partial class ChatRepository
{
    /// <summary>
    /// Records a new chat and, in the same commit, each character's greeting as a completed
    /// character turn (seq 1, 2, …), in the chat's character order.
    /// </summary>
    public async Task<(Chat Chat, IReadOnlyList<ChatTurn> Greetings)> CreateChatAsync(
        string userId, string title, IReadOnlyList<Character> characters, CancellationToken cancellationToken)
    {
        var chatId = Ids.New();
        var mutations = new List<SpannerMutation>();
        var greetings = new List<ChatTurn>();
        foreach (var character in characters.Where(c => !string.IsNullOrEmpty(c.Greeting)))
        {
            var seq = greetings.Count + 1;
            var candidateId = Ids.New();
            mutations.Add(InsertTurn(chatId, seq, AuthorRole.Character, character.Id, text: null,
                requestId: null, replyToSeq: null, primaryCandidateId: candidateId, candidateCount: 1));
            mutations.Add(SpannerMutation.Insert("Candidates")
                .Set("ChatId", chatId)
                .Set("Seq", (long)seq)
                .Set("CandidateId", candidateId)
                .Set("State", (long)ReplyState.Complete)
                .Set("Text", character.Greeting)
                .Set("CreateTime", SpannerCommitTimestamp.Value)
                .Set("UpdateTime", SpannerCommitTimestamp.Value));
            greetings.Add(new ChatTurn(chatId, seq, AuthorRole.Character, character.Id, character.Greeting!, ReplyState.Complete,
                candidateId, 1, default, null, null));
        }

        var preview = greetings.Count > 0 ? Text.Preview(greetings[^1].Text) : "";
        var characterIds = characters.Select(c => c.Id).ToList();
        mutations.Insert(0, SpannerMutation.Insert("Chats")
            .Set("ChatId", chatId)
            .Set("UserId", userId)
            .Set("Title", title)
            .Set("CharacterIds", characterIds)
            .Set("NextSeq", (long)greetings.Count)
            .Set("RotationCursor", 0L)
            .Set("LastMessagePreview", preview)
            .Set("CreateTime", SpannerCommitTimestamp.Value)
            .Set("LastActiveTime", SpannerCommitTimestamp.Value));

        var committed = await database.WriteAsync(mutations, cancellationToken);
        var chat = new Chat(chatId, userId, title, characterIds, greetings.Count, 0, preview, committed, committed);
        return (chat, greetings.Select(g => g with { CreateTime = committed }).ToList());
    }

    /// <summary>The chat if it exists and belongs to the user; otherwise null.</summary>
    public Task<Chat?> GetChatAsync(string userId, string chatId, CancellationToken cancellationToken) =>
        ReadOwnedChatAsync(database, userId, chatId, cancellationToken);

    /// <summary>
    /// One page of the user's chats, most recently active first, from the ChatsByUser index
    /// (which stores every listed column). <paramref name="after"/> is the last chat of the
    /// previous page; ties on LastActiveTime are broken by ChatId.
    /// </summary>
    public async Task<IReadOnlyList<Chat>> ListChatsAsync(
        string userId, (DateTimeOffset LastActiveTime, string ChatId)? after, int limit, CancellationToken cancellationToken)
    {
        var sql = $"SELECT {ChatColumns} FROM Chats@{{FORCE_INDEX=ChatsByUser}} WHERE UserId = @userId";
        if (after is not null)
        {
            sql += " AND (LastActiveTime < @afterTime OR (LastActiveTime = @afterTime AND ChatId > @afterId))";
        }

        var statement = new SpannerStatement(sql + " ORDER BY LastActiveTime DESC, ChatId LIMIT @limit")
            .Add("userId", userId)
            .Add("limit", (long)limit);
        if (after is { } cursor)
        {
            statement.Add("afterTime", cursor.LastActiveTime).Add("afterId", cursor.ChatId);
        }

        var rows = await database.QueryListAsync(statement, cancellationToken: cancellationToken);
        return rows.Select(ReadChat).ToList();
    }

    /// <summary>Deletes the chat with everything under it. False when there was no such chat of the user's.</summary>
    public Task<bool> DeleteChatAsync(string userId, string chatId, CancellationToken cancellationToken) =>
        database.RunInTransactionAsync(async (tx, ct) =>
        {
            if (await ReadOwnedChatAsync(tx, userId, chatId, ct) is null)
            {
                return false;
            }

            tx.BufferWrite(SpannerMutation.Delete("Chats", SpannerKey.Of(chatId)));
            return true;
        }, cancellationToken);
}
