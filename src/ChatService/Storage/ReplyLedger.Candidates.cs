using System.Security.Cryptography;
using System.Text;
using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

internal sealed partial class ReplyLedger
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

    // Every candidate of a turn, oldest first, each row shaped like TurnSelect's so ReadTurn maps it
    // (a user turn comes back as one row without a candidate), with the candidate's own creation time.
    private const string TurnCandidatesSelect =
        $"""
        SELECT {TurnColumns}, c.CandidateId, c.CreateTime AS CandidateCreateTime, t.PrimaryCandidateId
        FROM Turns t
        LEFT JOIN Candidates c ON c.ChatId = t.ChatId AND c.Seq = t.Seq
        WHERE t.ChatId = @chatId AND t.Seq = @seq
        ORDER BY c.CreateTime, c.CandidateId
        """;

    public async Task<OwedReplies> AddCandidateAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken)
    {
        var commit = await commits.RunAsync<OwedReplies?>(chatId, async (tx, turns, ct) =>
        {
            _ = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            if (await FindCandidatesByRequestAsync(tx, chatId, requestId, ct) is { } found)
            {
                return found;
            }

            await AddOwedCandidateAsync(tx, turns, chatId, seq, requestId, ct);
            return null;
        }, cancellationToken);

        var owed = commit.Result ?? new OwedReplies(commit.Turns, Duplicate: false);
        await commits.ShownAsync(commit, owed.Replies);
        return owed;
    }

    /// <summary>
    /// Adds an owed candidate (pending, leased here) to a shown character turn as its new primary one,
    /// under <paramref name="requestId"/>: what Regenerate records, and EditAndRegenerate after its edit.
    /// </summary>
    private async Task AddOwedCandidateAsync(SpannerTransaction tx, TurnMutations turns, string chatId, long seq, string requestId, CancellationToken ct)
    {
        var turn = (await ReadCandidateAsync(tx, chatId, seq, null, ct))?.Turn ?? throw ChatException.TurnNotFound(chatId, seq);
        if (turn.Role != AuthorRole.Character)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {seq} is a user turn; only character turns can be regenerated");
        }

        if (turn.Hidden)
        {
            throw ChatException.TurnHidden(chatId, seq);
        }

        if (turn.CandidateCount >= MaxCandidatesPerTurn)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {seq} already has {MaxCandidatesPerTurn} candidates, the most a turn may have");
        }

        var pending = turn with
        {
            CandidateId = Ids.New(),
            CandidateCount = turn.CandidateCount + 1,
            Text = "",
            State = ReplyState.Pending,
            FailureReason = null,
            Edited = false,
            Rating = null,
            // A new candidate is never a continuation, whatever the one it replaces was: its events are
            // continuation 0's (log and sequences), and its settle checks that number.
            Continuations = 0,
        };
        turns.AddOwedCandidate(pending, requestId, OwedLease.ForThisReplica(chatId, Options, timeProvider.GetUtcNow()));
    }

    // Not on the hot path (a client asks when the user flips through a turn's candidates): straight from
    // one snapshot, so ownership, the turn and its candidates are read as of one moment.
    public Task<IReadOnlyList<TurnCandidate>> ListCandidatesAsync(string userId, string chatId, long seq, CancellationToken cancellationToken) =>
        spanner.SnapshotAsync((snapshot, ct) => ReadCandidatesAsync(snapshot, userId, chatId, seq, ct), cancellationToken);

    /// <summary>
    /// The candidates of a shown character turn, oldest first, each as the turn would show it (text,
    /// state, failure, edited, the owner's rating) with its creation time and whether it is primary.
    /// Refused as the other candidate operations refuse: a user turn, or a hidden one (restore it first).
    /// </summary>
    private static async Task<IReadOnlyList<TurnCandidate>> ReadCandidatesAsync(
        ISpannerReader snapshot, string userId, string chatId, long seq, CancellationToken ct)
    {
        _ = await ReadOwnedChatAsync(snapshot, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
        var rows = await snapshot.QueryListAsync(new SpannerStatement(TurnCandidatesSelect).Add("chatId", chatId).Add("seq", seq), ct);
        if (rows.Count == 0)
        {
            throw ChatException.TurnNotFound(chatId, seq);
        }

        // Each row is the turn as it would show that candidate.
        var shown = rows.Select(row => (Row: row, Turn: ReadTurn(chatId, row))).ToList();
        var turn = shown[0].Turn;
        if (turn.Role != AuthorRole.Character)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {seq} is a user turn; only character turns have candidates");
        }

        if (turn.Hidden)
        {
            throw ChatException.TurnHidden(chatId, seq);
        }

        return shown.Select(candidate => new TurnCandidate(
            CandidateId: candidate.Turn.CandidateId!,
            Text: candidate.Turn.Text,
            State: candidate.Turn.State,
            FailureReason: candidate.Turn.FailureReason,
            CreateTime: candidate.Row.Get<DateTimeOffset>("CandidateCreateTime"),
            IsPrimary: candidate.Turn.CandidateId == candidate.Row.Get<string?>("PrimaryCandidateId"),
            Rating: candidate.Turn.Rating,
            Edited: candidate.Turn.Edited) { FilterCategory = candidate.Turn.FilterCategory }).ToList();
    }

    public async Task<ChatTurn> SelectCandidateAsync(string userId, string chatId, long seq, string candidateId, CancellationToken cancellationToken)
    {
        var commit = await commits.RunAsync(chatId, async (tx, turns, ct) =>
        {
            _ = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            var turn = (await ReadCandidateAsync(tx, chatId, seq, candidateId, ct))?.Turn;
            if (turn is not { Role: AuthorRole.Character })
            {
                throw new ChatException(ChatErrorKind.NotFound, $"candidate {candidateId} of turn {seq} not found");
            }

            if (turn.Hidden)
            {
                throw ChatException.TurnHidden(chatId, seq);
            }

            if (ReplyFailureCodes.IsWithheld(turn.State, turn.FailureCode))
            {
                throw new ChatException(ChatErrorKind.FailedPrecondition,
                    $"candidate {candidateId} of turn {seq} was withheld by moderation; it cannot be selected (Regenerate for another one)");
            }

            turns.SelectCandidate(turn);
            return true;
        }, cancellationToken);

        await commits.ShownAsync(commit, commit.Turns);
        return commit.Turns[0];
    }

    public async Task<OwedReplies> RecordContinuationAsync(string userId, string chatId, string requestId, SpeakerChoice speakers, CancellationToken cancellationToken)
    {
        var commit = await commits.RunAsync<OwedReplies?>(chatId, async (tx, turns, ct) =>
        {
            var chat = await ReadSpeakingChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            if (await FindCandidatesByRequestAsync(tx, chatId, requestId, ct) is { } found)
            {
                return found;
            }

            var plan = speakers(chat);
            var lease = OwedLease.ForThisReplica(chatId, Options, timeProvider.GetUtcNow());

            // The first answers the newest shown turn (after a rewind, the newest recorded one is hidden).
            var shown = await tx.QueryListAsync(
                new SpannerStatement("SELECT MAX(Seq) AS Seq FROM Turns WHERE ChatId = @chatId AND HiddenTime IS NULL").Add("chatId", chatId), ct);
            var previous = shown[0].Get<long?>("Seq");
            foreach (var (characterId, i) in plan.Speakers.Select((id, i) => (id, i)))
            {
                var seq = chat.LastSeq + 1 + i;
                turns.InsertOwedReply(
                    new ChatTurn(chatId, seq, AuthorRole.Character, characterId, "", ReplyState.Pending, Ids.New(), 1, default, null, i == 0 ? previous : seq - 1),
                    ContinuationRequestId(requestId, i), lease);
            }

            tx.BufferWrite(SpannerMutation.Update("Chats")
                .Set("ChatId", chatId)
                .Set("NextSeq", chat.LastSeq + plan.Speakers.Count)
                .Set("RotationCursor", plan.NextCursor)
                .Set("LastActiveTime", SpannerCommitTimestamp.Value));
            return null;
        }, cancellationToken);

        var owed = commit.Result ?? new OwedReplies(commit.Turns, Duplicate: false);
        await commits.ShownAsync(commit, owed.Replies);
        return owed;
    }

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
            var reply = await ReadCandidateAsync(tx, chatId, row.Get<long>("Seq"), row.Get<string>("CandidateId"), cancellationToken);
            // The reply this request made is the candidate's first generation: a ContinueReply since then has
            // events of its own (numbered from its continuation), which a repeat of this request does not follow.
            replies.Add(reply!.Turn with { Continuations = 0 });
        }

        return new OwedReplies(replies, Duplicate: true);
    }
}
