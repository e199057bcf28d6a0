using ChatService.Chats;
using Microsoft.Extensions.Options;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// Reads and writes chats in Spanner. Every call goes through <see cref="SpannerDatabaseClient"/>,
/// so it gets the client's session pool and ABORTED retry. Ownership checks happen inside the
/// same reads and transactions that touch the data: another user's chat is indistinguishable
/// from a missing one.
/// </summary>
internal sealed partial class ChatRepository(
    SpannerDatabaseClient database,
    IOptions<ChatOptions> chatOptions,
    TimeProvider timeProvider) : IChatStore
{
    private const string ChatColumns =
        "ChatId, UserId, Title, CharacterIds, NextSeq, RotationCursor, LastMessagePreview, CreateTime, LastActiveTime";

    // The columns ReadTurn maps, from Turns t and Candidates c; each query adds its own CandidateId.
    private const string TurnColumns =
        "t.Seq, t.AuthorRole, t.CharacterId, t.Text, t.ReplyToSeq, t.CandidateCount, t.CreateTime, t.UpdateTime, " +
        "c.State, c.Text AS CandidateText, c.FailureReason";

    // A turn as history shows it: character turns take text and state from their primary candidate.
    private const string TurnSelect =
        $"""
        SELECT {TurnColumns}, t.PrimaryCandidateId AS CandidateId
        FROM Turns t
        LEFT JOIN Candidates c ON c.ChatId = t.ChatId AND c.Seq = t.Seq AND c.CandidateId = t.PrimaryCandidateId
        """;

    private ChatOptions Options => chatOptions.Value;

    private static Chat ReadChat(SpannerRow row) => new(
        Id: row.Get<string>("ChatId"),
        UserId: row.Get<string>("UserId"),
        Title: row.Get<string>("Title"),
        CharacterIds: row.Get<List<string>>("CharacterIds"),
        LastSeq: row.Get<long>("NextSeq"),
        RotationCursor: row.Get<long>("RotationCursor"),
        LastMessagePreview: row.Get<string>("LastMessagePreview"),
        CreateTime: row.Get<DateTimeOffset>("CreateTime"),
        LastActiveTime: row.Get<DateTimeOffset>("LastActiveTime"));

    private static ChatTurn ReadTurn(string chatId, SpannerRow row)
    {
        var role = (AuthorRole)row.Get<long>("AuthorRole");
        var isUser = role == AuthorRole.User;
        return new ChatTurn(
            ChatId: chatId,
            Seq: row.Get<long>("Seq"),
            Role: role,
            CharacterId: row.Get<string?>("CharacterId"),
            Text: (isUser ? row.Get<string?>("Text") : row.Get<string?>("CandidateText")) ?? "",
            State: isUser || row.IsNull("State") ? ReplyState.Complete : (ReplyState)row.Get<long>("State"),
            CandidateId: row.Get<string?>("CandidateId"),
            CandidateCount: (int)row.Get<long>("CandidateCount"),
            CreateTime: row.Get<DateTimeOffset>("CreateTime"),
            FailureReason: row.Get<string?>("FailureReason"),
            ReplyToSeq: row.Get<long?>("ReplyToSeq"),
            Version: ChatTurn.VersionAt(row.Get<DateTimeOffset>("UpdateTime")));
    }

    private static async Task<Chat?> ReadOwnedChatAsync(ISpannerReader reader, string userId, string chatId, CancellationToken cancellationToken)
    {
        var rows = await reader.QueryListAsync(
            new SpannerStatement($"SELECT {ChatColumns} FROM Chats WHERE ChatId = @chatId").Add("chatId", chatId),
            cancellationToken);
        var chat = rows.Count == 0 ? null : ReadChat(rows[0]);
        return chat is not null && chat.UserId == userId ? chat : null;
    }

    /// <summary>
    /// Runs a read-write transaction whose result holds the turns it changed, then lets
    /// <paramref name="stamp"/> give them the commit's timestamp (their new version).
    /// </summary>
    private async Task<T> WriteTurnsAsync<T>(
        Func<SpannerTransaction, CancellationToken, Task<T>> work, Func<T, DateTimeOffset, T> stamp, CancellationToken cancellationToken)
    {
        var (result, committed) = await database.RunInTransactionWithCommitTimestampAsync(work, cancellationToken);
        return stamp(result, committed);
    }

    /// <summary>The turn as of a commit at <paramref name="committed"/>.</summary>
    private static ChatTurn Stamp(ChatTurn turn, DateTimeOffset committed) => turn with { Version = ChatTurn.VersionAt(committed) };

    private static SpannerMutation InsertTurn(string chatId, long seq, AuthorRole role, string? characterId, string? text,
        string? requestId, long? replyToSeq, string? primaryCandidateId, int candidateCount) =>
        SpannerMutation.Insert("Turns")
            .Set("ChatId", chatId)
            .Set("Seq", seq)
            .Set("AuthorRole", (long)role)
            .Set("CharacterId", characterId)
            .Set("Text", text)
            .Set("RequestId", requestId)
            .Set("ReplyToSeq", replyToSeq)
            .Set("PrimaryCandidateId", primaryCandidateId)
            .Set("CandidateCount", (long)candidateCount)
            .Set("CreateTime", SpannerCommitTimestamp.Value)
            .Set("UpdateTime", SpannerCommitTimestamp.Value);
}
