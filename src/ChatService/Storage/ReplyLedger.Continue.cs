using System.Globalization;
using System.Text;
using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

internal sealed partial class ReplyLedger
{
    /// <summary>The ChatOperations kind of a ContinueReply.</summary>
    internal const string ContinueKind = "continue";

    /// <summary>
    /// Most continuations one candidate may have: far more than anyone asks for, and few enough that
    /// every continuation's wire sequences (from n × 2^40) stay within what after_sequence takes.
    /// </summary>
    internal const int MaxContinuations = 1000;

    public async Task<OwedReplies> ContinueReplyAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken)
    {
        var commit = await commits.RunAsync<RecordedContinuation?>(chatId, async (tx, turns, ct) =>
        {
            _ = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            if (await ChatOperations.ReadAsync(tx, chatId, requestId, ContinueKind, ct) is { } recorded)
            {
                return await RecordedContinuationAsync(tx, chatId, seq, requestId, recorded.Result, ct);
            }

            var turn = await ContinuableTurnAsync(tx, chatId, seq, ct);
            var pending = turn with { State = ReplyState.Pending, FailureReason = null, FailureCode = null, Continuations = turn.Continuations + 1, UndoneContinuation = null };
            turns.ContinueCandidate(pending, turn, OwedLease.ForThisReplica(chatId, Options, timeProvider.GetUtcNow()));
            ChatOperations.Insert(tx, chatId, requestId, ContinueKind,
                ContinuationRecord(seq, pending.CandidateId!, pending.Continuations, pending.Text.Length));
            return null;
        }, cancellationToken);

        // A repeat is handed on too: the first request may have committed without reaching the cache.
        // The cache gets the candidate as stored; the caller gets it as that continuation's Accepted shows it.
        if (commit.Result is { } repeat)
        {
            await commits.ShownAsync(commit, [repeat.Stored]);
            return new OwedReplies([repeat.Owed], Duplicate: true) { EndedContinuation = repeat.Ended };
        }

        await commits.ShownAsync(commit, commit.Turns);
        return new OwedReplies(commit.Turns, Duplicate: false);
    }

    /// <summary>
    /// A repeated ContinueReply: the candidate as stored now, as that continuation owes it to the caller, and, once
    /// that continuation has ended, the candidate as a replay of it from storage ends (null while it runs).
    /// </summary>
    private sealed record RecordedContinuation(ChatTurn Stored, ChatTurn Owed, ChatTurn? Ended);

    /// <summary>
    /// The turn a ContinueReply may continue, as shown with its primary candidate: the chat's last shown
    /// turn, a character's, whose reply is settled and has text. Anything else is refused, and nothing is
    /// written: a missing turn is NOT_FOUND; the rest FAILED_PRECONDITION, saying why.
    /// </summary>
    private async Task<ChatTurn> ContinuableTurnAsync(SpannerTransaction tx, string chatId, long seq, CancellationToken ct)
    {
        var turn = (await ReadCandidateAsync(tx, chatId, seq, null, ct))?.Turn ?? throw ChatException.TurnNotFound(chatId, seq);
        if (turn.Role != AuthorRole.Character)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {seq} is a user turn; only a character's reply can be continued");
        }

        if (turn.Hidden)
        {
            throw ChatException.TurnHidden(chatId, seq);
        }

        var shown = await tx.QueryListAsync(
            new SpannerStatement("SELECT MAX(Seq) AS Seq FROM Turns WHERE ChatId = @chatId AND HiddenTime IS NULL").Add("chatId", chatId), ct);
        if (shown[0].Get<long?>("Seq") is { } last && last != seq)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition,
                $"turn {seq} is not the chat's last turn (turn {last} is); only the last reply can be continued");
        }

        if (turn.State is ReplyState.Pending or ReplyState.Streaming)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition,
                $"turn {seq} is still being generated; continue it once it has ended (or cancel it with CancelReply)");
        }

        // Whitespace alone is no reply to go on from (and the prompt's prefill would be empty).
        if (string.IsNullOrWhiteSpace(turn.Text))
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {seq} has no text to continue; regenerate it instead");
        }

        if (turn.Continuations >= MaxContinuations)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition,
                $"turn {seq} was already continued {MaxContinuations} times, the most a reply may be; regenerate it instead");
        }

        return turn;
    }

    /// <summary>
    /// What an earlier ContinueReply with this request id owes: its candidate, numbered as that
    /// continuation (so the caller follows its events, settled or not), with the text it had when the
    /// continuation began (the continuation's deltas add to it, as they did for the first request).
    /// The id names one continuation: under another turn it is FAILED_PRECONDITION.
    /// Once it has ended, also the candidate a replay of it ends with when its log is gone: as stored, for the
    /// latest continuation and for an earlier one alike (the candidate holds no text of an earlier one apart: its
    /// replay's one delta is everything past the text it began from, later continuations' text included, and it
    /// ends as the candidate is now). While a later continuation runs, the candidate as it was before that one
    /// began (its text, and the state kept in ContinuedFrom…), which is how the earlier ones left it.
    /// </summary>
    private static async Task<RecordedContinuation> RecordedContinuationAsync(
        SpannerTransaction tx, string chatId, long seq, string requestId, byte[] record, CancellationToken ct)
    {
        var (recordedSeq, candidateId, continuation, startLength) = ParseContinuationRecord(record);
        if (recordedSeq != seq)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition,
                $"request_id {requestId} was used to continue another turn (turn {recordedSeq}); use a new request_id for a new continuation", "request_id");
        }

        var stored = await ReadCandidateAsync(tx, chatId, seq, candidateId, ct) ?? throw ChatException.TurnNotFound(chatId, seq);
        var turn = stored.Turn;
        // Continuations only append, so the text the continuation began from is the stored text's
        // start (a record without its length, written before it was kept, shows the stored text).
        var text = startLength is { } length && length <= turn.Text.Length ? turn.Text[..length] : turn.Text;
        var owed = turn with { Continuations = continuation, Text = text, UndoneContinuation = null };
        var running = turn.State is ReplyState.Pending or ReplyState.Streaming;
        if (turn.Continuations == continuation || !running)
        {
            return new RecordedContinuation(turn, owed, running ? null : turn);
        }

        // A later continuation runs: this one ended as the candidate was when that one began.
        // Its continuations then were the running one's less one.
        var previous = turn with { Continuations = turn.Continuations - 1 };
        var ended = await ReadContinuedFromAsync(tx, new ReplyKey(chatId, seq, candidateId), ct) is { } row && row.Get<long?>("ContinuedFromState") is { } state
            ? previous with { State = (ReplyState)state, FailureCode = FailureCodeColumn.FromColumn(row.Get<string?>("ContinuedFromFailureCode")), FailureReason = row.Get<string?>("ContinuedFromFailureReason") }
            // Continued by a replica that does not keep the state before (rolling upgrade): its text was complete enough to continue.
            : previous with { State = ReplyState.Complete, FailureCode = null, FailureReason = null };
        return new RecordedContinuation(turn, owed, ended);
    }

    /// <summary>
    /// The candidate's state before its running continuation (ContinuedFromState, ContinuedFromFailureCode,
    /// ContinuedFromFailureReason), or null when the candidate is not there.
    /// </summary>
    private static async Task<SpannerRow?> ReadContinuedFromAsync(SpannerTransaction tx, ReplyKey key, CancellationToken ct)
    {
        var rows = await tx.QueryListAsync(new SpannerStatement(
                "SELECT ContinuedFromState, ContinuedFromFailureCode, ContinuedFromFailureReason FROM Candidates WHERE ChatId = @chatId AND Seq = @seq AND CandidateId = @candidateId")
            .Add("chatId", key.ChatId).Add("seq", key.Seq).Add("candidateId", key.CandidateId), ct);
        return rows is [var row] ? row : null;
    }

    /// <summary>
    /// What ChatOperations keeps of a continuation: <c>seq/candidateId/continuation/length</c>, the
    /// length (UTF-16 code units) of the text the continuation began from.
    /// </summary>
    private static byte[] ContinuationRecord(long seq, string candidateId, int continuation, int startLength) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{seq}/{candidateId}/{continuation}/{startLength}"));

    private static (long Seq, string CandidateId, int Continuation, int? StartLength) ParseContinuationRecord(byte[] record)
    {
        var parts = Encoding.UTF8.GetString(record).Split('/');
        int? startLength = parts.Length > 3 ? int.Parse(parts[3], CultureInfo.InvariantCulture) : null;
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), parts[1], int.Parse(parts[2], CultureInfo.InvariantCulture), startLength);
    }
}
