using System.Security.Cryptography;
using System.Text;
using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

internal sealed partial class ChatRepository
{
    /// <summary>Most candidates ("swipes") one turn may have.</summary>
    internal const int MaxCandidatesPerTurn = 32;

    /// <summary>Length of the RequestId columns (STRING(64)).</summary>
    private const int MaxStoredRequestIdLength = 64;

    // Candidates recorded under a request id (Regenerate, ContinueChat), for idempotency.
    private const string CandidatesByRequestSelect =
        """
        SELECT Seq, CandidateId
        FROM Candidates@{FORCE_INDEX=CandidatesByRequestId, spanner_emulator.disable_query_null_filtered_index_check=true}
        WHERE ChatId = @chatId AND RequestId IN UNNEST(@requestIds)
        ORDER BY Seq
        """;

    public Task<OwedReplies> AddCandidateAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken) =>
        WriteTurnsAsync(async (tx, ct) =>
        {
            _ = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            if (await FindCandidatesByRequestAsync(tx, chatId, requestId, ct) is { } earlier)
            {
                return earlier;
            }

            var turn = (await QueryCandidateTurnAsync(tx, chatId, seq, null, ct))?.Turn
                ?? throw ChatException.TurnNotFound(chatId, seq);
            if (turn.Role != AuthorRole.Character)
            {
                throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {seq} is a user turn; only character turns can be regenerated");
            }

            if (turn.CandidateCount >= MaxCandidatesPerTurn)
            {
                throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {seq} already has {MaxCandidatesPerTurn} candidates, the most a turn may have");
            }

            var candidateId = Ids.New();
            tx.BufferWrite(InsertOwedCandidate(chatId, seq, candidateId, requestId, timeProvider.GetUtcNow() + Options.ReplyLease));
            tx.BufferWrite(SpannerMutation.Update("Turns")
                .Set("ChatId", chatId)
                .Set("Seq", seq)
                .Set("PrimaryCandidateId", candidateId)
                .Set("CandidateCount", (long)turn.CandidateCount + 1)
                .Set("UpdateTime", SpannerCommitTimestamp.Value));
            var pending = turn with
            {
                CandidateId = candidateId,
                CandidateCount = turn.CandidateCount + 1,
                Text = "",
                State = ReplyState.Pending,
                FailureReason = null,
            };
            return new OwedReplies([pending], Duplicate: false);
        }, StampOwed, cancellationToken);

    public Task<ChatTurn> SelectCandidateAsync(string userId, string chatId, long seq, string candidateId, CancellationToken cancellationToken) =>
        WriteTurnsAsync(async (tx, ct) =>
        {
            _ = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            var turn = (await QueryCandidateTurnAsync(tx, chatId, seq, candidateId, ct))?.Turn;
            if (turn is not { Role: AuthorRole.Character })
            {
                throw new ChatException(ChatErrorKind.NotFound, $"candidate {candidateId} of turn {seq} not found");
            }

            tx.BufferWrite(SpannerMutation.Update("Turns")
                .Set("ChatId", chatId)
                .Set("Seq", seq)
                .Set("PrimaryCandidateId", candidateId)
                .Set("UpdateTime", SpannerCommitTimestamp.Value));
            return turn;
        }, Stamp, cancellationToken);

    public Task<OwedReplies> RecordContinuationAsync(string userId, string chatId, int turns, string requestId, CancellationToken cancellationToken) =>
        WriteTurnsAsync(async (tx, ct) =>
        {
            var chat = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            if (await FindCandidatesByRequestAsync(tx, chatId, requestId, ct) is { } earlier)
            {
                return earlier;
            }

            if (chat.CharacterIds.Count < 2)
            {
                throw new ChatException(ChatErrorKind.FailedPrecondition, "only group chats can continue without the user; this chat has one character");
            }

            var leaseUntil = timeProvider.GetUtcNow() + Options.ReplyLease;
            var cursor = chat.RotationCursor;
            var replies = new List<ChatTurn>(turns);
            for (var i = 0; i < turns; i++)
            {
                (var speakers, cursor) = ReplyPolicy.Pick(chat.CharacterIds, cursor, [], 1);
                var seq = chat.LastSeq + 1 + i;
                var candidateId = Ids.New();
                tx.BufferWrite(InsertTurn(chatId, seq, AuthorRole.Character, speakers[0], text: null,
                    requestId: null, replyToSeq: seq - 1, primaryCandidateId: candidateId, candidateCount: 1));
                tx.BufferWrite(InsertOwedCandidate(chatId, seq, candidateId, ContinuationRequestId(requestId, i), leaseUntil));
                replies.Add(new ChatTurn(chatId, seq, AuthorRole.Character, speakers[0], "", ReplyState.Pending, candidateId, 1,
                    default, null, seq - 1));
            }

            tx.BufferWrite(SpannerMutation.Update("Chats")
                .Set("ChatId", chatId)
                .Set("NextSeq", chat.LastSeq + turns)
                .Set("RotationCursor", cursor)
                .Set("LastActiveTime", SpannerCommitTimestamp.Value));
            return new OwedReplies(replies, Duplicate: false);
        }, StampCreated, cancellationToken);

    /// <summary>Turns changed by the commit get its version.</summary>
    private static OwedReplies StampOwed(OwedReplies owed, DateTimeOffset committed) =>
        owed.Duplicate ? owed : new OwedReplies(owed.Replies.Select(r => Stamp(r, committed)).ToList(), false);

    /// <summary>Turns created by the commit get its version and their creation time.</summary>
    private static OwedReplies StampCreated(OwedReplies owed, DateTimeOffset committed) =>
        owed.Duplicate ? owed : new OwedReplies(owed.Replies.Select(r => Stamp(r, committed) with { CreateTime = committed }).ToList(), false);

    /// <summary>
    /// The request id recorded on the i-th turn of a continuation: the id itself, then "id#2", "id#3", …
    /// ('#' never occurs in a client's request id), so each candidate's key stays unique. When the
    /// suffixed id would not fit the column, the suffix goes first and a digest of the id follows
    /// ("#2#" and 43 characters): no client id or suffixed id starts with '#', so it stays unique too.
    /// </summary>
    private static string ContinuationRequestId(string requestId, int index)
    {
        if (index == 0)
        {
            return requestId;
        }

        var suffixed = $"{requestId}#{index + 1}";
        return suffixed.Length <= MaxStoredRequestIdLength ? suffixed : $"#{index + 1}#{Digest(requestId)}";
    }

    private static string Digest(string requestId) =>
        Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(requestId))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The replies owed under an earlier request id (a Regenerate's candidate, or a continuation's turns).</summary>
    private static async Task<OwedReplies?> FindCandidatesByRequestAsync(SpannerTransaction tx, string chatId, string requestId, CancellationToken cancellationToken)
    {
        var requestIds = Enumerable.Range(0, ReplyPolicy.MaxContinuationTurns).Select(i => ContinuationRequestId(requestId, i)).ToList();
        var found = await tx.QueryListAsync(
            new SpannerStatement(CandidatesByRequestSelect)
                .Add("chatId", chatId)
                .Add("requestIds", SpannerType.ArrayOf(SpannerType.String), requestIds),
            cancellationToken);
        if (found.Count == 0)
        {
            return null;
        }

        var replies = new List<ChatTurn>(found.Count);
        foreach (var row in found)
        {
            var reply = await QueryCandidateTurnAsync(tx, chatId, row.Get<long>("Seq"), row.Get<string>("CandidateId"), cancellationToken);
            replies.Add(reply!.Value.Turn);
        }

        return new OwedReplies(replies, Duplicate: true);
    }
}
