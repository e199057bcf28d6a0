using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

internal sealed partial class ReplyLedger
{
    /// <summary>
    /// EditAndRegenerate in one transaction: the chat's last shown user turn is edited (as EditTurn edits
    /// it) and the reply that follows it gets a new owed candidate (as Regenerate adds one), so neither
    /// happens without the other. The request id is recorded in ChatOperations with the reply turn; the
    /// candidate carries the id <see cref="RegenerateRequestId"/> derives from it, so a repeat finds it
    /// and writes nothing.
    /// </summary>
    public async Task<EditedReplies> EditAndAddCandidateAsync(string userId, string chatId, long seq, string text, string requestId, CancellationToken cancellationToken)
    {
        var regenerateId = RegenerateRequestId(requestId);
        var commit = await commits.RunAsync<EditedReplies?>(chatId, async (tx, turns, ct) =>
        {
            _ = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            var turn = await TurnEdits.ReadTurnAsync(tx, chatId, seq, ct);
            if (await TurnEdits.FindAsync(tx, chatId, requestId, TurnEdits.EditAndRegenerateKind, seq, text, ct) is not null)
            {
                var found = await FindCandidatesByRequestAsync(tx, chatId, regenerateId, ct)
                    ?? throw new InvalidOperationException($"request {requestId} of chat {chatId} recorded an edit without its candidate");
                return new EditedReplies(turn, found);
            }

            if (await FindCandidatesByRequestAsync(tx, chatId, regenerateId, ct) is { } earlier)
            {
                // The edit's record has expired (ChatOperations keeps 7 days) but its candidate is there: a repeat.
                return new EditedReplies(turn, earlier);
            }

            var replySeq = await ReplyToRegenerateAsync(tx, turn, ct);
            await TurnEdits.EditAsync(tx, turns, turn, text, ct);
            await AddOwedCandidateAsync(tx, turns, chatId, replySeq, regenerateId, ct);
            TurnEdits.Record(tx, chatId, requestId, TurnEdits.EditAndRegenerateKind, EditRecord.ForEdit(seq, text, replySeq));
            return null;
        }, cancellationToken);

        // The commit wrote the user turn, then the reply with its new candidate. A repeat is handed on
        // too: the first request may have committed without reaching the cache.
        var edited = commit.Result ?? new EditedReplies(commit.Turns[0], new OwedReplies([commit.Turns[1]], Duplicate: false));
        await commits.ShownAsync(commit, [edited.UserTurn, .. edited.Owed.Replies]);
        return edited;
    }

    /// <summary>
    /// Whether an EditAndRegenerate with this request id was applied already (its ChatOperations record, or,
    /// once that expired, its candidate), so a retry skips the classifier: the one statement EditTurn reads too
    /// (<see cref="TurnEdits.CheckAsync"/>), asked also whether a candidate carries the id derived from the request's.
    /// </summary>
    public Task<bool> EditAndRegenerateRecordedAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken) =>
        spanner.ReadAsync(async (reader, ct) =>
        {
            var check = await TurnEdits.CheckAsync(
                reader, userId, chatId, seq, requestId, TurnEdits.EditAndRegenerateKind, RegenerateRequestId(requestId), ct);
            if (check.Recorded || check.CandidateFound)
            {
                return true;
            }

            check.EnsureTurnShown();
            return false;
        }, cancellationToken);

    /// <summary>
    /// The reply an EditAndRegenerate regenerates: <paramref name="userTurn"/> must be the chat's last shown
    /// user turn, and the next shown turn a character's reply to it. Anything else is FAILED_PRECONDITION.
    /// </summary>
    private static async Task<long> ReplyToRegenerateAsync(SpannerTransaction tx, ChatTurn userTurn, CancellationToken ct)
    {
        var (chatId, seq) = (userTurn.ChatId, userTurn.Seq);
        if (userTurn.Hidden)
        {
            throw ChatException.TurnHidden(chatId, seq);
        }

        if (userTurn.Role != AuthorRole.User)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {seq} is a character turn; EditAndRegenerate edits the chat's last user turn");
        }

        var newer = await tx.QueryListAsync(
            new SpannerStatement("SELECT Seq FROM Turns WHERE ChatId = @chatId AND Seq > @seq AND HiddenTime IS NULL AND AuthorRole = @user ORDER BY Seq LIMIT 1")
                .Add("chatId", chatId).Add("seq", seq).Add("user", (long)AuthorRole.User),
            ct);
        if (newer.Count > 0)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition,
                $"turn {seq} is not the chat's last user turn (turn {newer[0].Get<long>("Seq")} is); EditAndRegenerate edits only the last one (use EditTurn)");
        }

        var next = await tx.QueryListAsync(
            new SpannerStatement("SELECT Seq, AuthorRole, ReplyToSeq FROM Turns WHERE ChatId = @chatId AND Seq > @seq AND HiddenTime IS NULL ORDER BY Seq LIMIT 1")
                .Add("chatId", chatId).Add("seq", seq),
            ct);
        if (next.Count == 0 || next[0].Get<long>("AuthorRole") != (long)AuthorRole.Character || next[0].Get<long?>("ReplyToSeq") != seq)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {seq} has no reply after it to regenerate; use EditTurn");
        }

        return next[0].Get<long>("Seq");
    }

    /// <summary>
    /// The request id of the candidate an EditAndRegenerate adds: the edit's id with "#e" ('#' never occurs in
    /// a client's request id, so no Regenerate or continuation of the client's can name it, and "#e" is no
    /// continuation's "#2".."#10"). When that would not fit the column, "#e#" and a digest of the id (46 characters).
    /// </summary>
    internal static string RegenerateRequestId(string requestId)
    {
        var suffixed = $"{requestId}#e";
        return suffixed.Length <= MaxStoredRequestIdLength ? suffixed : $"#e#{Digest(requestId)}";
    }
}
