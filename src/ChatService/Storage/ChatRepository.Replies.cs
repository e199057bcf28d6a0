using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

internal sealed partial class ChatRepository : IReplyStore
{
    // One candidate of a turn, shaped like TurnSelect so ReadTurn maps it, with the chat's owner
    // (so a read on behalf of a user needs no separate ownership read).
    private const string CandidateTurnSelect =
        $"""
        SELECT {TurnColumns}, c.CandidateId, c.OwedShard, c.LeaseOwner, c.LeaseUntil,
               t.PrimaryCandidateId, (SELECT ch.UserId FROM Chats ch WHERE ch.ChatId = t.ChatId) AS OwnerId
        FROM Turns t
        LEFT JOIN Candidates c ON c.ChatId = t.ChatId AND c.Seq = t.Seq AND c.CandidateId = IFNULL(@candidateId, t.PrimaryCandidateId)
        WHERE t.ChatId = @chatId AND t.Seq = @seq
        """;

    public async Task<ReplyContext?> LoadReplyContextAsync(ReplyKey key, int windowTurns, CancellationToken cancellationToken)
    {
        // One snapshot: the chat, the reply's lease, the cast and the window all as of one moment, even when a
        // send, a settle or a takeover commits between the reads.
        await using var snapshot = await database.BeginSnapshotAsync(cancellationToken: cancellationToken);
        var chatRows = await snapshot.QueryListAsync(
            new SpannerStatement($"SELECT {ChatColumns} FROM Chats WHERE ChatId = @chatId").Add("chatId", key.ChatId),
            cancellationToken);
        if (chatRows.Count == 0)
        {
            return null;
        }

        var chat = ReadChat(chatRows[0]);
        var reply = await QueryCandidateTurnAsync(snapshot, key.ChatId, key.Seq, key.CandidateId, cancellationToken);
        if (reply is null || reply.Value.Turn.CharacterId is null)
        {
            return null;
        }

        var cast = (await ReadCharactersAsync(snapshot, chat.CharacterIds, cancellationToken)).ToDictionary(c => c.Id);
        if (!cast.TryGetValue(reply.Value.Turn.CharacterId, out var speaker))
        {
            return null;
        }

        var window = await snapshot.QueryListAsync(
            new SpannerStatement($"{TurnSelect} WHERE t.ChatId = @chatId AND t.Seq < @seq ORDER BY t.Seq DESC LIMIT @limit")
                .Add("chatId", key.ChatId)
                .Add("seq", key.Seq)
                .Add("limit", (long)windowTurns),
            cancellationToken);
        var oldestFirst = window.Select(r => ReadTurn(key.ChatId, r)).Reverse().ToList();
        return new ReplyContext(chat.UserId, speaker, cast, oldestFirst, reply.Value.Owed && reply.Value.LeaseOwner == Options.ReplicaId);
    }

    public async Task<ChatTurn?> GetReplyAsync(string userId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken)
    {
        // Polled while a reply is generated on another replica: one query, ownership included.
        var reply = await QueryCandidateTurnAsync(database, chatId, seq, candidateId, cancellationToken);
        return reply is { } found && found.OwnerId == userId ? found.Turn : null;
    }

    public async Task<SettledReply?> CancelOwedReplyAsync(string userId, ReplyKey key, CancellationToken cancellationToken) =>
        (await WriteTurnsAsync<(SettledReply? Reply, bool Changed)>(async (tx, ct) =>
        {
            if (await ReadOwnedChatAsync(tx, userId, key.ChatId, ct) is null)
            {
                return (null, false);
            }

            var reply = await QueryCandidateTurnAsync(tx, key.ChatId, key.Seq, key.CandidateId, ct);
            if (reply is not { } found)
            {
                return (null, false);
            }

            if (!found.Owed)
            {
                return (new SettledReply(found.Turn, found.IsPrimary), false);
            }

            if (found.LeaseOwner != Options.ReplicaId && found.LeaseUntil > timeProvider.GetUtcNow())
            {
                // Another live replica is generating it: ask it to stop and store what it has.
                tx.BufferWrite(SpannerMutation.Update("Candidates")
                    .Set("ChatId", key.ChatId).Set("Seq", key.Seq).Set("CandidateId", key.CandidateId)
                    .Set("CancelRequested", true));
                return (new SettledReply(found.Turn, found.IsPrimary) { GeneratingReplica = found.LeaseOwner }, false);
            }

            const string reason = "cancelled before generation started";
            tx.BufferWrite(SettleMutation(key, ReplyState.Cancelled, "", ReplyFailureCode.Cancelled, reason));
            tx.BufferWrite(SpannerMutation.Update("Turns").Set("ChatId", key.ChatId).Set("Seq", key.Seq).Set("UpdateTime", SpannerCommitTimestamp.Value));
            return (new SettledReply(found.Turn with { State = ReplyState.Cancelled, FailureReason = reason }, found.IsPrimary), true);
        },
        (result, committed) => result.Changed ? (result.Reply! with { Reply = Stamp(result.Reply!.Reply, committed) }, true) : result,
        cancellationToken)).Reply;

    /// <summary>
    /// The turn as shown with one of its candidates (the primary when <paramref name="candidateId"/>
    /// is null), and whether that candidate is still owed and by whom. User turns come back as
    /// they are (they have no candidates); callers check the role.
    /// </summary>
    private static async Task<(ChatTurn Turn, bool Owed, string? LeaseOwner, DateTimeOffset? LeaseUntil, bool IsPrimary, string OwnerId)?> QueryCandidateTurnAsync(
        ISpannerReader reader, string chatId, long seq, string? candidateId, CancellationToken cancellationToken)
    {
        var rows = await reader.QueryListAsync(
            new SpannerStatement(CandidateTurnSelect)
                .Add("chatId", chatId)
                .Add("seq", seq)
                .Add("candidateId", SpannerType.String, candidateId),
            cancellationToken);
        // No such turn, or a character turn without that candidate. User turns have no candidates.
        if (rows.Count == 0 || (rows[0].Get<long>("AuthorRole") == (long)AuthorRole.Character && rows[0].IsNull("CandidateId")))
        {
            return null;
        }

        var turn = ReadTurn(chatId, rows[0]);
        return (turn, !rows[0].IsNull("OwedShard"), rows[0].Get<string?>("LeaseOwner"), rows[0].Get<DateTimeOffset?>("LeaseUntil"),
            turn.CandidateId == rows[0].Get<string?>("PrimaryCandidateId"), rows[0].Get<string>("OwnerId"));
    }

    /// <summary>The candidate's final state, with its owed marker and lease cleared.</summary>
    private static SpannerMutation SettleMutation(ReplyKey key, ReplyState state, string text, ReplyFailureCode? failureCode, string? failureReason) =>
        SpannerMutation.Update("Candidates")
            .Set("ChatId", key.ChatId)
            .Set("Seq", key.Seq)
            .Set("CandidateId", key.CandidateId)
            .Set("State", (long)state)
            .Set("Text", text)
            .Set("FailureCode", FailureCodeColumn.ToColumn(failureCode))
            .Set("FailureReason", failureReason)
            .Set("OwedShard", null)
            .Set("LeaseOwner", null)
            .Set("LeaseUntil", null)
            .Set("UpdateTime", SpannerCommitTimestamp.Value);
}
