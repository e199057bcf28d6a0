using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// The one way a transaction changes what a turn shows. Every method buffers its writes and bumps
/// the turn's <c>UpdateTime</c> to the commit timestamp: that is the version the history cache
/// orders changes by, so no write path can leave it behind. After the commit,
/// <see cref="CommittedAt"/> gives the turns written, in order, as of that commit.
/// </summary>
internal sealed class TurnMutations(SpannerTransaction transaction)
{
    private readonly List<(ChatTurn Turn, bool Created)> _written = [];

    // Turns recorded with a rating this transaction wrote: the rating's time is the commit's.
    private readonly HashSet<ChatTurn> _rated = new(ReferenceEqualityComparer.Instance);

    /// <summary>A user's message.</summary>
    public void InsertUserTurn(ChatTurn turn, string requestId)
    {
        transaction.BufferWrite(InsertTurn(turn, turn.Text, requestId));
        _written.Add((turn, true));
    }

    /// <summary>A character turn whose one candidate is owed (pending, leased).</summary>
    public void InsertOwedReply(ChatTurn turn, string? candidateRequestId, OwedLease lease)
    {
        transaction.BufferWrite(InsertTurn(turn, text: null, requestId: null));
        transaction.BufferWrite(CandidateMutations.InsertOwed(turn.ChatId, turn.Seq, turn.CandidateId!, candidateRequestId, lease));
        _written.Add((turn, true));
    }

    /// <summary>A character's greeting: a character turn with one complete candidate.</summary>
    public void InsertGreeting(ChatTurn turn)
    {
        transaction.BufferWrite(InsertTurn(turn, text: null, requestId: null));
        transaction.BufferWrite(CandidateMutations.InsertComplete(turn.ChatId, turn.Seq, turn.CandidateId!, turn.Text));
        _written.Add((turn, true));
    }

    /// <summary>An owed candidate added to a turn as its new primary one; <paramref name="turn"/> shows it.</summary>
    public void AddOwedCandidate(ChatTurn turn, string requestId, OwedLease lease)
    {
        transaction.BufferWrite(CandidateMutations.InsertOwed(turn.ChatId, turn.Seq, turn.CandidateId!, requestId, lease));
        transaction.BufferWrite(UpdateTurn(turn.ChatId, turn.Seq)
            .Set("PrimaryCandidateId", turn.CandidateId)
            .Set("CandidateCount", (long)turn.CandidateCount));
        _written.Add((turn, false));
    }

    /// <summary>
    /// The turn's primary candidate owed again to continue its text (ContinueReply); <paramref name="turn"/>
    /// shows it pending, with its text so far and <see cref="ChatTurn.Continuations"/> the continuation's number;
    /// <paramref name="before"/> is the candidate as it was settled, which a continuation that adds nothing returns to.
    /// </summary>
    public void ContinueCandidate(ChatTurn turn, ChatTurn before, OwedLease lease)
    {
        transaction.BufferWrite(CandidateMutations.Continue(new ReplyKey(turn.ChatId, turn.Seq, turn.CandidateId!), turn.Continuations, lease, before));
        transaction.BufferWrite(UpdateTurn(turn.ChatId, turn.Seq));
        _written.Add((turn, false));
    }

    /// <summary>Another existing candidate becomes the turn's primary one; <paramref name="turn"/> shows it.</summary>
    public void SelectCandidate(ChatTurn turn)
    {
        transaction.BufferWrite(UpdateTurn(turn.ChatId, turn.Seq).Set("PrimaryCandidateId", turn.CandidateId));
        _written.Add((turn, false));
    }

    /// <summary>
    /// A candidate's final state (owed marker and lease cleared). <paramref name="reply"/> is its
    /// turn as shown with that candidate; the turn's version moves even when it is not the primary
    /// one, so a later selection of it is newer still. <paramref name="undone"/>: the failure of the reply's latest
    /// continuation, which added nothing, when the candidate goes back to its state before it. Returns the reply as settled.
    /// </summary>
    public ChatTurn Settle(ChatTurn reply, ReplyState state, string text, ReplyFailureCode? failureCode, string? failureReason, string? filterCategory = null,
        ReplyFailure? undone = null)
    {
        var key = new ReplyKey(reply.ChatId, reply.Seq, reply.CandidateId!, reply.Continuations);
        transaction.BufferWrite(CandidateMutations.Settle(key, state, text, failureCode, failureReason, filterCategory, undone));
        transaction.BufferWrite(UpdateTurn(key.ChatId, key.Seq));
        var settled = reply with { State = state, Text = text, FailureReason = failureReason, FailureCode = failureCode, FilterCategory = filterCategory, UndoneContinuation = undone };
        _written.Add((settled, false));
        return settled;
    }

    /// <summary>Hides a turn (rewound or deleted): history and prompts skip it, caches keep a marker.</summary>
    public void Hide(string chatId, long seq, long reason)
    {
        transaction.BufferWrite(UpdateTurn(chatId, seq)
            .Set("HiddenTime", SpannerCommitTimestamp.Value)
            .Set("HiddenReason", reason));
        _written.Add((ChatTurn.HiddenMarker(chatId, seq, 0), false));
    }

    /// <summary>Shows a hidden turn again; <paramref name="turn"/> is the turn as read (hidden).</summary>
    public void Restore(ChatTurn turn)
    {
        transaction.BufferWrite(UpdateTurn(turn.ChatId, turn.Seq)
            .Set("HiddenTime", null)
            .Set("HiddenReason", null));
        _written.Add((turn with { Hidden = false }, false));
    }

    /// <summary>
    /// The chat owner's rating of one candidate of a character turn (the latest wins). <paramref name="turn"/>
    /// is the turn as shown with that candidate; when it is the primary one, history shows the rating on
    /// the turn, so the turn's version moves and the turn is recorded with it. A rating of another
    /// candidate changes nothing history shows (a later selection of it reads the rating afresh).
    /// </summary>
    public void Rate(ChatTurn turn, string userId, TurnRating rating, bool isPrimary)
    {
        transaction.BufferWrite(RatingRow(turn.ChatId, turn.Seq, turn.CandidateId!, userId, rating, SpannerCommitTimestamp.Value));
        if (!isPrimary)
        {
            return;
        }

        transaction.BufferWrite(UpdateTurn(turn.ChatId, turn.Seq));
        var rated = turn with { Rating = rating };
        _rated.Add(rated);
        _written.Add((rated, false));
    }

    /// <summary>
    /// An edit of the text a turn shows: a user turn's own text, or its primary candidate's
    /// (<paramref name="turn"/> is the turn as read, showing it). The text it had is kept as the
    /// turn's revision number <paramref name="revision"/> (with the candidate it belonged to); the
    /// model-call log is left as it is. Returns the turn as edited.
    /// </summary>
    public ChatTurn Edit(ChatTurn turn, string text, long revision)
    {
        var isUser = turn.Role == AuthorRole.User;
        transaction.BufferWrite(RevisionRow(turn.ChatId, turn.Seq, revision, isUser ? null : turn.CandidateId, turn.Text, SpannerCommitTimestamp.Value));
        var update = UpdateTurn(turn.ChatId, turn.Seq);
        if (isUser)
        {
            update.Set("Text", text).Set("Edited", true);
        }
        else
        {
            transaction.BufferWrite(CandidateMutations.Edit(new ReplyKey(turn.ChatId, turn.Seq, turn.CandidateId!), text));
        }

        transaction.BufferWrite(update);
        var edited = turn with { Text = text, Edited = true };
        _written.Add((edited, false));
        return edited;
    }

    /// <summary>
    /// An imported turn of a chat nobody owns yet (ImportChat's batches), with its candidates (their ids
    /// <paramref name="candidateIds"/>, in order), the owner's ratings and the texts it had before edits, as
    /// the file had them. The turn row is the one every other turn gets (<see cref="InsertTurn"/>), only with
    /// the file's time and edit mark; it has no request id (the import's is recorded in ChatImports). It is not
    /// recorded for the caches: no reader reaches the chat until the import's last batch gives it to its user.
    /// </summary>
    public void InsertImported(string chatId, string userId, Portability.ArchivedTurn turn, IReadOnlyList<string> candidateIds)
    {
        var row = new ChatTurn(chatId, turn.Seq, turn.Role, turn.CharacterId, "", ReplyState.Complete,
            candidateIds.Count == 0 ? null : candidateIds[turn.Primary], candidateIds.Count, turn.CreateTime, null, turn.ReplyToSeq);
        transaction.BufferWrite(InsertTurn(row, turn.Role == AuthorRole.User ? turn.Text : null, requestId: null, turn.CreateTime)
            .Set("Edited", turn.Edited ? true : null));
        for (var i = 0; i < turn.Candidates.Count; i++)
        {
            var candidate = turn.Candidates[i];
            transaction.BufferWrite(CandidateMutations.InsertImported(chatId, turn.Seq, candidateIds[i], candidate));
            if (candidate.Rating is { } rating)
            {
                transaction.BufferWrite(RatingRow(chatId, turn.Seq, candidateIds[i], userId, rating, rating.UpdateTime));
            }
        }

        foreach (var revision in turn.Revisions)
        {
            transaction.BufferWrite(RevisionRow(chatId, turn.Seq, revision.Revision, revision.Candidate is { } index ? candidateIds[index] : null, revision.Text, revision.EditTime));
        }
    }

    /// <summary>The chats this transaction wrote turns of, each once.</summary>
    public IReadOnlyList<string> ChatIds => _written.Select(w => w.Turn.ChatId).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>The turns written, in order, as of the commit at <paramref name="committed"/>: its version, and its time for new turns.</summary>
    public IReadOnlyList<ChatTurn> CommittedAt(DateTimeOffset committed) =>
        _written.Select(w => w.Created
                ? w.Turn with { Version = ChatTurn.VersionAt(committed), CreateTime = committed }
                : _rated.Contains(w.Turn)
                    ? w.Turn with { Version = ChatTurn.VersionAt(committed), Rating = w.Turn.Rating! with { UpdateTime = committed } }
                    : w.Turn with { Version = ChatTurn.VersionAt(committed) })
            .ToList();

    /// <summary>A new turn's row; created at the commit unless <paramref name="createTime"/> (an imported turn's) says otherwise.</summary>
    private static SpannerMutation InsertTurn(ChatTurn turn, string? text, string? requestId, DateTimeOffset? createTime = null) =>
        SpannerMutation.Insert("Turns")
            .Set("ChatId", turn.ChatId)
            .Set("Seq", turn.Seq)
            .Set("AuthorRole", (long)turn.Role)
            .Set("CharacterId", turn.CharacterId)
            .Set("Text", text)
            .Set("RequestId", requestId)
            .Set("ReplyToSeq", turn.ReplyToSeq)
            .Set("PrimaryCandidateId", turn.CandidateId)
            .Set("CandidateCount", (long)turn.CandidateCount)
            .Set("CreateTime", createTime is { } at ? at : SpannerCommitTimestamp.Value)
            .Set("UpdateTime", SpannerCommitTimestamp.Value);

    /// <summary>The owner's rating of a candidate (the latest wins: an upsert), as of <paramref name="updateTime"/>.</summary>
    private static SpannerMutation RatingRow(string chatId, long seq, string candidateId, string userId, TurnRating rating, object updateTime) =>
        SpannerMutation.InsertOrUpdate("Ratings")
            .Set("ChatId", chatId)
            .Set("Seq", seq)
            .Set("CandidateId", candidateId)
            .Set("UserId", userId)
            .Set("Stars", (long)rating.Stars)
            .Set("Tags", rating.Tags.ToList())
            .Set("Comment", string.IsNullOrEmpty(rating.Comment) ? null : rating.Comment)
            .Set("UpdateTime", updateTime);

    /// <summary>A text a turn had before an edit: its number, the candidate it belonged to (null for a user turn) and when it was replaced.</summary>
    private static SpannerMutation RevisionRow(string chatId, long seq, long revision, string? candidateId, string text, object editTime) =>
        SpannerMutation.Insert("TurnRevisions")
            .Set("ChatId", chatId)
            .Set("Seq", seq)
            .Set("Revision", revision)
            .Set("CandidateId", candidateId)
            .Set("Text", text)
            .Set("EditTime", editTime);

    private static SpannerMutation UpdateTurn(string chatId, long seq) =>
        SpannerMutation.Update("Turns")
            .Set("ChatId", chatId)
            .Set("Seq", seq)
            .Set("UpdateTime", SpannerCommitTimestamp.Value);
}
