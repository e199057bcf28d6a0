using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// Writes to the Candidates table. Those that change what a turn shows (a new candidate, a final
/// state) are only reached through <see cref="TurnMutations"/>, which bumps the turn's version with
/// them; the lease writes here change nothing history shows.
/// </summary>
internal static class CandidateMutations
{
    /// <summary>An owed candidate: pending, marked in the sharded owed index, leased.</summary>
    public static SpannerMutation InsertOwed(string chatId, long seq, string candidateId, string? requestId, OwedLease lease) =>
        SpannerMutation.Insert("Candidates")
            .Set("ChatId", chatId)
            .Set("Seq", seq)
            .Set("CandidateId", candidateId)
            .Set("State", (long)ReplyState.Pending)
            .Set("RequestId", requestId)
            .Set("OwedShard", lease.Shard)
            .Set("LeaseOwner", lease.Owner)
            .Set("LeaseUntil", lease.Until)
            .Set("CreateTime", SpannerCommitTimestamp.Value)
            .Set("UpdateTime", SpannerCommitTimestamp.Value);

    /// <summary>A candidate complete from the start (a greeting).</summary>
    public static SpannerMutation InsertComplete(string chatId, long seq, string candidateId, string text) =>
        SpannerMutation.Insert("Candidates")
            .Set("ChatId", chatId)
            .Set("Seq", seq)
            .Set("CandidateId", candidateId)
            .Set("State", (long)ReplyState.Complete)
            .Set("Text", text)
            .Set("CreateTime", SpannerCommitTimestamp.Value)
            .Set("UpdateTime", SpannerCommitTimestamp.Value);

    /// <summary>
    /// An imported candidate, settled as the file had it: its text (none for a filtered one, which keeps its
    /// category), failure, edit mark and time; no continuations (an export does not carry them).
    /// </summary>
    public static SpannerMutation InsertImported(string chatId, long seq, string candidateId, Portability.ArchivedCandidate candidate) =>
        SpannerMutation.Insert("Candidates")
            .Set("ChatId", chatId)
            .Set("Seq", seq)
            .Set("CandidateId", candidateId)
            .Set("State", (long)candidate.State)
            .Set("Text", candidate.State == ReplyState.Filtered ? null : candidate.Text)
            .Set("FailureCode", candidate.FailureCode)
            .Set("FailureReason", candidate.FailureReason)
            .Set("FilterCategory", candidate.State == ReplyState.Filtered ? candidate.FilterCategory ?? "" : null)
            .Set("Edited", candidate.Edited ? true : null)
            .Set("CreateTime", candidate.CreateTime)
            .Set("UpdateTime", SpannerCommitTimestamp.Value);

    /// <summary>
    /// A settled candidate owed again as continuation <paramref name="continuation"/> (ContinueReply):
    /// pending, marked in the owed index and leased, its failure, cancel request and recovery count
    /// cleared (kept as <c>ContinuedFrom…</c>, for a continuation that fails without adding text); its text
    /// stays, and the continuation's settle appends to it.
    /// </summary>
    public static SpannerMutation Continue(ReplyKey key, int continuation, OwedLease lease, ChatTurn before) =>
        Key(key)
            .Set("ContinuedFromState", (long)before.State)
            .Set("ContinuedFromFailureCode", FailureCodeColumn.ToColumn(before.FailureCode))
            .Set("ContinuedFromFailureReason", before.FailureReason)
            .Set("UndoneContinuation", null)
            .Set("UndoneFailureCode", null)
            .Set("UndoneFailureReason", null)
            .Set("State", (long)ReplyState.Pending)
            .Set("FailureCode", null)
            .Set("FailureReason", null)
            .Set("OwedShard", lease.Shard)
            .Set("LeaseOwner", lease.Owner)
            .Set("LeaseUntil", lease.Until)
            .Set("CancelRequested", null)
            .Set("RecoveryAttempts", null)
            .Set("Continuations", (long)continuation)
            .Set("UpdateTime", SpannerCommitTimestamp.Value);

    /// <summary>
    /// The candidate's final state, with its owed marker, lease and ContinuedFrom… columns cleared; <paramref name="filterCategory"/>
    /// only for a filtered one; <paramref name="undone"/> only when continuation <see cref="ReplyKey.Continuation"/> of
    /// <paramref name="key"/> failed without adding text and the candidate goes back to its state before it (Undone… columns).
    /// </summary>
    public static SpannerMutation Settle(ReplyKey key, ReplyState state, string text, ReplyFailureCode? failureCode, string? failureReason, string? filterCategory = null,
        ReplyFailure? undone = null) =>
        Key(key)
            .Set("UndoneContinuation", undone is null ? null : (long)key.Continuation)
            .Set("UndoneFailureCode", undone is null ? null : FailureCodeColumn.ToColumn(undone.Code))
            .Set("UndoneFailureReason", undone?.Reason)
            .Set("State", (long)state)
            .Set("Text", text)
            .Set("FailureCode", FailureCodeColumn.ToColumn(failureCode))
            .Set("FailureReason", failureReason)
            .Set("FilterCategory", filterCategory)
            // The state kept while a continuation ran is of that continuation only: a later one started by a
            // replica that does not keep it (an old one, mid rolling upgrade) must find nothing stale to restore.
            .Set("ContinuedFromState", null)
            .Set("ContinuedFromFailureCode", null)
            .Set("ContinuedFromFailureReason", null)
            .Set("OwedShard", null)
            .Set("LeaseOwner", null)
            .Set("LeaseUntil", null)
            .Set("UpdateTime", SpannerCommitTimestamp.Value);

    /// <summary>A settled candidate's text replaced by the user (its earlier text is a revision).</summary>
    public static SpannerMutation Edit(ReplyKey key, string text) =>
        Key(key)
            .Set("Text", text)
            .Set("Edited", true)
            .Set("UpdateTime", SpannerCommitTimestamp.Value);

    public static SpannerMutation Lease(ReplyKey key, string owner, DateTimeOffset until) =>
        Key(key).Set("LeaseOwner", owner).Set("LeaseUntil", until);

    public static SpannerMutation RequestCancel(ReplyKey key) => Key(key).Set("CancelRequested", true);

    private static SpannerMutation Key(ReplyKey key) =>
        SpannerMutation.Update("Candidates").Set("ChatId", key.ChatId).Set("Seq", key.Seq).Set("CandidateId", key.CandidateId);
}
