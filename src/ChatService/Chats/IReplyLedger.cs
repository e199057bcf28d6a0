namespace ChatService.Chats;

/// <summary>
/// The ledger of replies: what is owed, who holds each owed reply's lease, candidates, and each
/// reply's final state with its model-call log. Settling is conditional on the reply still being
/// owed and leased to this replica, so a reply is stored once however many workers raced for it.
/// Every write hands the turns it changed to the <see cref="IChatChangeSink"/> before it returns.
/// </summary>
public interface IReplyLedger
{
    /// <summary>A reply of the user's chat as the turn shows it with that candidate; null if not found.</summary>
    Task<ChatTurn?> GetReplyAsync(string userId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken);

    /// <summary>The chat, speaker, cast, recent window and lease of a reply, read from one snapshot; null if the chat or reply is gone.</summary>
    Task<ReplyContext?> LoadReplyContextAsync(ReplyKey key, int windowTurns, CancellationToken cancellationToken);

    /// <summary>The chat's turns with these numbers that are shown (pinned turns a prompt needs beyond its window), oldest first.</summary>
    Task<IReadOnlyList<ChatTurn>> GetShownTurnsAsync(string chatId, IReadOnlyList<long> seqs, CancellationToken cancellationToken);

    /// <summary>Adds an owed candidate to a character turn and makes it primary; idempotent on the request id.</summary>
    Task<OwedReplies> AddCandidateAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken);

    /// <summary>
    /// Edits the chat's last shown user turn and, in the same commit, adds an owed candidate to the reply
    /// that follows it (as <see cref="AddCandidateAsync"/>); idempotent on the request id.
    /// </summary>
    Task<EditedReplies> EditAndAddCandidateAsync(string userId, string chatId, long seq, string text, string requestId, CancellationToken cancellationToken);

    /// <summary>
    /// Whether an EditAndRegenerate with this request id was applied already (so a retry need not be moderated again).
    /// Refuses what the edit would refuse before the classifier is asked: another user's chat, and (unless applied) a
    /// missing or hidden turn.
    /// </summary>
    Task<bool> EditAndRegenerateRecordedAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken);

    /// <summary>
    /// Every candidate of a shown character turn of the user's chat, oldest first, read from one
    /// snapshot: NOT_FOUND for another user's chat or a missing turn, FAILED_PRECONDITION for a user
    /// turn or a hidden one.
    /// </summary>
    Task<IReadOnlyList<TurnCandidate>> ListCandidatesAsync(string userId, string chatId, long seq, CancellationToken cancellationToken);

    /// <summary>
    /// The stored prompt of a candidate (the turn's primary one when <paramref name="candidateId"/> is
    /// null), read from one snapshot. <paramref name="ownerUserId"/> null reads any chat (an admin);
    /// otherwise another user's chat is NOT_FOUND, as is a missing turn or candidate, or a candidate
    /// with no stored prompt (not settled yet, cancelled before generation, stored before prompts were,
    /// or past retention).
    /// </summary>
    Task<StoredPrompt> GetReplyPromptAsync(string? ownerUserId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken);

    /// <summary>Makes a candidate the turn's primary one; returns the turn.</summary>
    Task<ChatTurn> SelectCandidateAsync(string userId, string chatId, long seq, string candidateId, CancellationToken cancellationToken);

    /// <summary>
    /// Records owed character turns that continue a group chat, one per speaker <paramref name="speakers"/>
    /// picks from the chat as the transaction reads it; idempotent on the request id.
    /// </summary>
    Task<OwedReplies> RecordContinuationAsync(string userId, string chatId, string requestId, SpeakerChoice speakers, CancellationToken cancellationToken);

    /// <summary>
    /// Owes the chat's last reply again to extend its text (ContinueReply): its primary candidate becomes
    /// pending, leased here, as continuation <see cref="ChatTurn.Continuations"/>, its text kept (the settle
    /// appends to it). Idempotent on the request id: a repeat returns that continuation, as stored now.
    /// NOT_FOUND for another user's chat or a missing turn; FAILED_PRECONDITION for a user turn, a hidden
    /// one, one that is not the last shown turn, one still being generated, or one without text.
    /// </summary>
    Task<OwedReplies> ContinueReplyAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken);

    /// <summary>
    /// Takes over owed replies whose lease has expired, in a random half of the owed-reply index's
    /// shards (so replicas sweeping at once mostly look at different ones) or in all of them;
    /// returns what this replica now holds, oldest first. Costs one read when nothing is owed.
    /// </summary>
    Task<ClaimResult> ClaimExpiredAsync(int limit, bool allShards, CancellationToken cancellationToken);

    /// <summary>Extends this replica's lease on a reply it is generating, and reports a cancellation request.</summary>
    Task<LeaseStatus> RenewLeaseAsync(ReplyKey key, CancellationToken cancellationToken);

    /// <summary>Ends this replica's lease now, so another replica recovers the reply at once.</summary>
    Task ReleaseLeaseAsync(ReplyKey key, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a reply's final text and state, clears its owed marker and writes its model-call
    /// log, in one commit. Returns the stored turn, or null when the reply was no longer owed by
    /// this replica (settled or claimed elsewhere) and nothing was written.
    /// </summary>
    Task<SettledReply?> SettleReplyAsync(ReplyOutcome outcome, CancellationToken cancellationToken);

    /// <summary>
    /// Cancels an owed reply this replica is not generating. If another live replica holds its
    /// lease, only records the request (that replica stops and stores the partial text; the reply
    /// comes back still pending); otherwise settles it cancelled with no text. Returns the reply as
    /// stored afterwards (unchanged if already settled), or null when the user has no such reply.
    /// </summary>
    Task<SettledReply?> CancelOwedReplyAsync(string userId, ReplyKey key, CancellationToken cancellationToken);
}
