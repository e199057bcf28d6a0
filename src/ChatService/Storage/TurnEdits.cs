using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

/// <summary>
/// The steps of an edit inside a transaction, shared by EditTurn (<see cref="ChatStore"/>) and
/// EditAndRegenerate (<see cref="ReplyLedger"/>, which adds the candidate in the same commit): the
/// request id's record in ChatOperations, the checks, and the edit itself through
/// <see cref="TurnMutations.Edit"/>.
/// </summary>
internal static class TurnEdits
{
    /// <summary>The most earlier texts one turn keeps (so ListTurnRevisions stays one bounded response).</summary>
    public const int MaxRevisions = 50;

    /// <summary>The ChatOperations kind of an EditTurn.</summary>
    public const string EditKind = "edit";

    /// <summary>The ChatOperations kind of an EditAndRegenerate (a different operation: the same id must not stand for both).</summary>
    public const string EditAndRegenerateKind = "edit-regenerate";

    /// <summary>
    /// What an earlier request with this id recorded, or null when there was none. The id names one
    /// operation on the chat: another kind, another turn or another text under it is FAILED_PRECONDITION.
    /// </summary>
    public static async Task<EditRecord?> FindAsync(
        SpannerTransaction tx, string chatId, string requestId, string kind, long seq, string text, CancellationToken ct)
    {
        if (await ChatOperations.ReadAsync(tx, chatId, requestId, kind, ct) is not { } recorded)
        {
            return null;
        }

        var record = EditRecord.Parse(recorded.Result);
        if (record.Seq != seq || record.TextDigest != Digest(text))
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition,
                $"request_id {requestId} was used for another edit (of turn {record.Seq}); use a new request_id for a new edit", "request_id");
        }

        return record;
    }

    // The user's chat, what the request id recorded on it, whether the turn is there and shown, and whether a candidate
    // carries @candidateRequestId (never, when it is NULL): one statement.
    private static readonly string RecordedSelect =
        $$"""
        SELECT ch.UserId,
               (SELECT o.Kind FROM ChatOperations o WHERE o.ChatId = ch.ChatId AND o.RequestId = @requestId AND {{ChatOperations.LiveCondition("o")}}) AS RecordedKind,
               (SELECT t.HiddenTime IS NULL FROM Turns t WHERE t.ChatId = ch.ChatId AND t.Seq = @seq) AS TurnShown,
               EXISTS(SELECT 1 FROM Candidates@{FORCE_INDEX=CandidatesByRequestId, spanner_emulator.disable_query_null_filtered_index_check=true} c
                      WHERE c.ChatId = ch.ChatId AND c.RequestId = @candidateRequestId) AS CandidateFound
        FROM Chats ch WHERE ch.ChatId = @chatId
        """;

    /// <summary>
    /// The read an edit makes before its classifier call (EditTurn and EditAndRegenerate while user texts are
    /// moderated), one statement: whether <paramref name="requestId"/> recorded an edit of <paramref name="kind"/> on the
    /// user's chat (a retry of an applied edit is answered from its record, without the classifier or a token), and
    /// whether the turn is there and shown. Refused at once as the edit would refuse it, so the classifier is never
    /// spent on it: another user's chat or a missing one is NOT_FOUND, an id used for another operation FAILED_PRECONDITION.
    /// With <paramref name="candidateRequestId"/> (EditAndRegenerate's candidate id), the same statement also tells whether
    /// a candidate carries it (the edit was applied and its record has expired).
    /// </summary>
    public static async Task<EditCheck> CheckAsync(
        ISpannerReader reader, string userId, string chatId, long seq, string requestId, string kind, string? candidateRequestId, CancellationToken ct)
    {
        var rows = await reader.QueryListAsync(
            ChatOperations.Bind(new SpannerStatement(RecordedSelect).Add("chatId", chatId).Add("seq", seq).Add("requestId", requestId)
                .Add("candidateRequestId", SpannerType.String, candidateRequestId)), ct);
        if (rows.Count == 0 || rows[0].Get<string>("UserId") != userId)
        {
            throw ChatException.ChatNotFound(chatId);
        }

        var recorded = rows[0].Get<string?>("RecordedKind");
        if (recorded is not null && recorded != kind)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition, $"request_id {requestId} was used for a different operation on this chat", "request_id");
        }

        return new EditCheck(chatId, seq, Recorded: recorded is not null, TurnShown: rows[0].Get<bool?>("TurnShown"),
            CandidateFound: rows[0].Get<bool>("CandidateFound"));
    }

    /// <summary>Records the edit under its request id, in the edit's own commit.</summary>
    public static void Record(SpannerTransaction tx, string chatId, string requestId, string kind, EditRecord record) =>
        ChatOperations.Insert(tx, chatId, requestId, kind, record.ToBytes());

    /// <summary>The turn as shown now (with its primary candidate); NOT_FOUND when the chat has no such turn.</summary>
    public static async Task<ChatTurn> ReadTurnAsync(SpannerTransaction tx, string chatId, long seq, CancellationToken ct) =>
        (await ReadCandidateAsync(tx, chatId, seq, null, ct))?.Turn ?? throw ChatException.TurnNotFound(chatId, seq);

    /// <summary>
    /// Replaces the text the turn shows (a user turn's, or its primary candidate's), keeping the text it
    /// had as the turn's next revision, and keeps the chat's preview on it when it is the newest shown
    /// turn. Refused for a hidden turn, and while the turn's reply is owed: its own candidate, or a
    /// reply to it, still pending or streaming (that reply would settle over the edit, or answer a
    /// text the history no longer shows). Returns the turn as edited.
    /// </summary>
    public static async Task<ChatTurn> EditAsync(SpannerTransaction tx, TurnMutations turns, ChatTurn turn, string text, CancellationToken ct)
    {
        var (chatId, seq) = (turn.ChatId, turn.Seq);
        if (turn.Hidden)
        {
            throw ChatException.TurnHidden(chatId, seq);
        }

        if (turn.Role == AuthorRole.Character && turn.State is ReplyState.Pending or ReplyState.Streaming)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition,
                $"turn {seq} is still being generated; wait for it to finish (or cancel it with CancelReply) before editing it");
        }

        if (turn.Role == AuthorRole.Character && ReplyFailureCodes.IsWithheld(turn.State, turn.FailureCode))
        {
            // An edit would give a withheld reply shown text again; a new candidate is the way on.
            throw new ChatException(ChatErrorKind.FailedPrecondition,
                $"turn {seq}'s reply was withheld by moderation; it cannot be edited (Regenerate for another one)");
        }

        var owed = await tx.QueryListAsync(
            new SpannerStatement(
                """
                SELECT t.Seq FROM Turns t
                JOIN Candidates c ON c.ChatId = t.ChatId AND c.Seq = t.Seq AND c.CandidateId = t.PrimaryCandidateId
                WHERE t.ChatId = @chatId AND t.Seq > @seq AND t.ReplyToSeq = @seq AND t.HiddenTime IS NULL AND c.State IN (1, 2)
                ORDER BY t.Seq LIMIT 1
                """)
                .Add("chatId", chatId).Add("seq", seq),
            ct);
        if (owed.Count > 0)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition,
                $"the reply to turn {seq} (turn {owed[0].Get<long>("Seq")}) is still being generated; wait for it to finish (or cancel it with CancelReply) before editing");
        }

        var revisions = await tx.QueryListAsync(
            new SpannerStatement("SELECT IFNULL(MAX(Revision), 0) AS Last FROM TurnRevisions WHERE ChatId = @chatId AND Seq = @seq")
                .Add("chatId", chatId).Add("seq", seq),
            ct);
        var last = revisions[0].Get<long>("Last");
        if (last >= MaxRevisions)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition,
                $"turn {seq} has been edited {MaxRevisions} times, the most a turn keeps earlier texts of; send a new message instead");
        }

        var edited = turns.Edit(turn, text, last + 1);

        var newest = await tx.QueryListAsync(
            new SpannerStatement("SELECT Seq FROM Turns WHERE ChatId = @chatId AND HiddenTime IS NULL ORDER BY Seq DESC LIMIT 1").Add("chatId", chatId),
            ct);
        if (newest.Count > 0 && newest[0].Get<long>("Seq") == seq)
        {
            tx.BufferWrite(SpannerMutation.Update("Chats").Set("ChatId", chatId).Set("LastMessagePreview", Text.Preview(text)));
        }

        return edited;
    }

    /// <summary>The revisions of a shown turn of the user's chat, oldest first (NOT_FOUND for another user's chat or a missing turn).</summary>
    public static async Task<IReadOnlyList<TextRevision>> ReadRevisionsAsync(ISpannerReader reader, string userId, string chatId, long seq, CancellationToken ct)
    {
        _ = await ReadOwnedChatAsync(reader, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
        var turn = await reader.QueryListAsync(
            new SpannerStatement("SELECT HiddenTime FROM Turns WHERE ChatId = @chatId AND Seq = @seq").Add("chatId", chatId).Add("seq", seq), ct);
        if (turn.Count == 0)
        {
            throw ChatException.TurnNotFound(chatId, seq);
        }

        if (!turn[0].IsNull("HiddenTime"))
        {
            throw ChatException.TurnHidden(chatId, seq);
        }

        var rows = await reader.QueryListAsync(
            new SpannerStatement("SELECT Revision, CandidateId, Text, EditTime FROM TurnRevisions WHERE ChatId = @chatId AND Seq = @seq ORDER BY Revision")
                .Add("chatId", chatId).Add("seq", seq),
            ct);
        return rows.Select(r => new TextRevision(r.Get<long>("Revision"), r.Get<string?>("CandidateId"), r.Get<string>("Text"), r.Get<DateTimeOffset>("EditTime")))
            .ToList();
    }

    /// <summary>A digest of the edit's text: a repeat must carry the same text, and the record stays small however long the text.</summary>
    public static string Digest(string text) => Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}

/// <summary>
/// What <see cref="TurnEdits.CheckAsync"/> found: whether the request id's edit is recorded, the turn (null: missing; false: hidden),
/// and whether a candidate carries the candidate request id asked about.
/// </summary>
internal readonly record struct EditCheck(string ChatId, long Seq, bool Recorded, bool? TurnShown, bool CandidateFound)
{
    /// <summary>Refuses an edit of the turn as the edit itself would: NOT_FOUND when it is missing, FAILED_PRECONDITION when hidden.</summary>
    public void EnsureTurnShown()
    {
        if (TurnShown is not { } shown)
        {
            throw ChatException.TurnNotFound(ChatId, Seq);
        }

        if (!shown)
        {
            throw ChatException.TurnHidden(ChatId, Seq);
        }
    }
}

/// <summary>
/// What an edit recorded under its request id: the turn edited, a digest of the new text, and for
/// an EditAndRegenerate the reply turn it added a candidate to (0 for a plain edit).
/// Stored as "seq:replySeq:digest".
/// </summary>
internal sealed record EditRecord(long Seq, long ReplySeq, string TextDigest)
{
    public static EditRecord ForEdit(long seq, string text, long replySeq = 0) => new(seq, replySeq, TurnEdits.Digest(text));

    public byte[] ToBytes() => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Seq}:{ReplySeq}:{TextDigest}"));

    public static EditRecord Parse(byte[] bytes)
    {
        var parts = Encoding.UTF8.GetString(bytes).Split(':', 3);
        return new EditRecord(long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture), parts[2]);
    }
}
