using System.Runtime.CompilerServices;
using ChatService.Chats;
using Microsoft.Extensions.Options;

namespace ChatService.Dispatch;

/// <summary>
/// The send/reply pipeline as the API sees it: record, dispatch, and follow replies live or
/// from storage; cancel, regenerate, list and select candidates, and continue.
/// </summary>
public sealed partial class ReplyPipeline(
    IChatStore chats,
    IReplyLedger ledger,
    ReplyHub hub,
    ReplyMirrors mirrors,
    ReplyDispatcher dispatcher,
    IReplySignals signals,
    IReplyLog log,
    IChatWindows windows,
    IOptions<ChatOptions> chatOptions,
    Moderation.ModerationGate moderation,
    ILogger<ReplyPipeline> logger)
{
    /// <summary>How long CancelReply waits for another replica to store a reply it stopped.</summary>
    private static readonly TimeSpan CancelWait = TimeSpan.FromSeconds(5);

    /// <summary>How long CancelReply trusts its signal alone before it records the request in storage too.</summary>
    private static readonly TimeSpan SignalWait = TimeSpan.FromSeconds(1);

    /// <summary>The retry hint of a full queue: a backlog of replies that take seconds each drains in about that.</summary>
    private static readonly TimeSpan QueueFullRetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>Records the user turn and owed replies, then queues the replies.</summary>
    public async Task<SendReceipt> SendAsync(SendCommand command, CancellationToken cancellationToken)
    {
        // Moderation first: a flagged message is refused with nothing written. A refused retry of a
        // request recorded already (before moderation was on, or before an outage under fail-closed)
        // attaches to what was recorded instead: "nothing was recorded" would be false.
        try
        {
            await moderation.CheckUserTextAsync(command.Text, "text", cancellationToken);
        }
        catch (ChatException)
        {
            if (await chats.FindSendAsync(command.UserId, command.ChatId, command.RequestId, cancellationToken) is { } recorded)
            {
                return recorded;
            }

            throw;
        }

        // The turn and its owed replies are durable before anything is promised.
        var speakers = ReplyPolicy.ForUserTurn(command.ReplyCharacterIds, chatOptions.Value.GroupRepliesPerTurn, command.Text, command.RequestId);
        var receipt = await chats.RecordSendAsync(command.Message, speakers, cancellationToken);
        if (!receipt.Duplicate)
        {
            await DispatchAsync(receipt.PendingReplies);
        }

        return receipt;
    }

    public async Task<OwedReplies> RegenerateAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken)
    {
        var owed = await ledger.AddCandidateAsync(userId, chatId, seq, requestId, cancellationToken);
        if (!owed.Duplicate)
        {
            await DispatchAsync(owed.Replies);
        }

        return owed;
    }

    /// <summary>
    /// Edits the chat's last user turn and records a new candidate for its reply in one commit, then
    /// queues the candidate as <see cref="RegenerateAsync"/> does.
    /// </summary>
    public async Task<EditedReplies> EditAndRegenerateAsync(string userId, string chatId, long seq, string text, string requestId, CancellationToken cancellationToken)
    {
        // Idempotency before moderation: a retry of an applied request gets its record back without
        // the classifier (its text was moderated when it was applied; a refusal now would be false).
        // Without moderation of user texts there is nothing to skip, so nothing is read for it.
        if (moderation.ScreensUserText && !await ledger.EditAndRegenerateRecordedAsync(userId, chatId, seq, requestId, cancellationToken))
        {
            await moderation.CheckUserTextAsync(text, "text", cancellationToken);
        }

        var edited = await ledger.EditAndAddCandidateAsync(userId, chatId, seq, text, requestId, cancellationToken);
        if (!edited.Owed.Duplicate)
        {
            await DispatchAsync(edited.Owed.Replies);
        }

        return edited;
    }

    public async Task<OwedReplies> ContinueAsync(string userId, string chatId, int turns, string requestId, CancellationToken cancellationToken)
    {
        var owed = await ledger.RecordContinuationAsync(userId, chatId, requestId, ReplyPolicy.ForContinuation(turns, requestId), cancellationToken);
        if (!owed.Duplicate)
        {
            await DispatchAsync(owed.Replies);
        }

        return owed;
    }

    /// <summary>
    /// Owes the chat's last reply again to extend it (see <see cref="IReplyLedger.ContinueReplyAsync"/>)
    /// and queues it as a reply of its own: a continuation has its own event stream and log
    /// (<see cref="ReplyKey.Continuation"/>), its prompt ends with the reply's text as the assistant's,
    /// and its settle appends what was generated to that text.
    /// </summary>
    public async Task<OwedReplies> ContinueReplyAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken)
    {
        var owed = await ledger.ContinueReplyAsync(userId, chatId, seq, requestId, cancellationToken);
        if (!owed.Duplicate)
        {
            await DispatchAsync(owed.Replies);
        }

        return owed;
    }

    /// <summary>
    /// Completes when every reply of <paramref name="replies"/> that is live on this replica has
    /// ended: settled in any state, or handed over to recovery. Replies not live here count as ended.
    /// </summary>
    public Task WhenEnded(IEnumerable<ChatTurn> replies) =>
        Task.WhenAll(replies
            .Where(r => r.CandidateId is not null)
            .Select(r => hub.TryGet(r.ReplyKey, out var owned) ? owned.Ended : Task.CompletedTask));

    /// <summary>Marks a stage of a reply owned here that the API reached (its Accepted or first delta written), with <c>Dispatch:StageTimings</c>.</summary>
    public void Mark(ReplyKey key, ReplyStage stage) => hub.Mark(key, stage);

    /// <summary>Whether <c>Dispatch:StageTimings</c> is on: callers skip <see cref="Mark"/> altogether when it is off.</summary>
    public bool StageTimings => hub.StageTimings;

    /// <summary>A reply turn of the user's chat, with the given candidate or its primary one.</summary>
    public async Task<ChatTurn> GetReplyAsync(string userId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken)
    {
        var turn = await ledger.GetReplyAsync(userId, chatId, seq, candidateId, cancellationToken);
        if (turn is null)
        {
            throw candidateId is null ? ChatException.TurnNotFound(chatId, seq) : new ChatException(ChatErrorKind.NotFound, $"candidate {candidateId} of turn {seq} not found");
        }

        return turn.Role == AuthorRole.Character
            ? turn
            : throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {seq} is a user turn; it has no reply stream");
    }

    /// <summary>
    /// The reply a StreamReply follows: from the chat's cached window when it holds that turn (so
    /// following a reply of a warm chat, on any replica, costs storage no read at all), else as
    /// <see cref="GetReplyAsync"/>.
    /// </summary>
    public async Task<ChatTurn> GetReplyToFollowAsync(string userId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken)
    {
        if (windows.MaxTurns > 0)
        {
            var window = await windows.GetAsync(chatId, windows.MaxTurns, cancellationToken);
            if (window is null || window.UserId != userId)
            {
                throw ChatException.TurnNotFound(chatId, seq);
            }

            if (window.NewestFirst.FirstOrDefault(t => t.Seq == seq) is { Hidden: false } turn && (candidateId is null || candidateId == turn.CandidateId))
            {
                return turn.Role == AuthorRole.Character
                    ? turn
                    : throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {seq} is a user turn; it has no reply stream");
            }
        }

        return await GetReplyAsync(userId, chatId, seq, candidateId, cancellationToken);
    }

    /// <summary>The stored prompt of a candidate; <paramref name="ownerUserId"/> null for an admin (any chat).</summary>
    public Task<StoredPrompt> GetReplyPromptAsync(string? ownerUserId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken) =>
        ledger.GetReplyPromptAsync(ownerUserId, chatId, seq, candidateId, cancellationToken);

    public Task<IReadOnlyList<TurnCandidate>> ListCandidatesAsync(string userId, string chatId, long seq, CancellationToken cancellationToken) =>
        ledger.ListCandidatesAsync(userId, chatId, seq, cancellationToken);

    public Task<ChatTurn> SelectAsync(string userId, string chatId, long seq, string candidateId, CancellationToken cancellationToken) =>
        ledger.SelectCandidateAsync(userId, chatId, seq, candidateId, cancellationToken);

    /// <summary>
    /// Stops a reply: a generation running here is cancelled and stores what it produced; one
    /// running on another replica is asked to (through Redis at once, and at its next lease renewal
    /// at the latest) and followed until it has; a reply owed but not yet started is marked
    /// cancelled. A finished reply is returned as it is.
    /// </summary>
    public async Task<ChatTurn> CancelAsync(string userId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken)
    {
        // The reply and the replica generating it come from Redis when they can (the chat's window
        // and the reply's log), so the signal goes out without waiting on storage.
        var turn = await GetReplyToFollowAsync(userId, chatId, seq, candidateId, cancellationToken);
        var key = turn.ReplyKey;
        if (turn.State is not (ReplyState.Pending or ReplyState.Streaming))
        {
            return turn;
        }

        if (hub.TryGet(key, out var owned) && owned.RequestCancel())
        {
            await owned.Ended.WaitAsync(cancellationToken);
            if (owned.Stream.IsFinished)
            {
                return await GetReplyAsync(userId, chatId, seq, turn.CandidateId, cancellationToken);
            }

            // Handed over while it stopped (shutdown, or the lease was lost): cancel it where it went.
        }

        // Generated elsewhere: the signal stops it now, and the reply's log tells when the partial
        // text is stored. Only when that does not happen soon is the request recorded in storage
        // (where the generating replica's next lease renewal finds it): writing the reply's row
        // while its replica settles it would only make the two transactions contend.
        var writer = await LogWriterAsync(key);
        if (writer is not null && writer != chatOptions.Value.ReplicaId)
        {
            await signals.PublishCancelAsync(key, writer);
            if (await FollowToEndAsync(userId, key, SignalWait, cancellationToken) is { Turn: { } stopped })
            {
                return stopped;
            }
        }

        Task<ReplyUpdate?>? ended = null;
        var recorded = await ledger.CancelOwedReplyAsync(userId, key, cancellationToken);
        if (recorded is { GeneratingReplica: { } replica })
        {
            // Generating on a live replica (the log's, if its signal was lost, or another one that
            // took the reply over): asked again, and followed until it has stored the reply.
            await signals.PublishCancelAsync(key, replica);
            ended = FollowToEndAsync(userId, key, CancelWait, cancellationToken);
        }
        else if (recorded is { SettledNow: true } settled)
        {
            // Settled by this call (nobody else held it). Owned here, its own stream and log end
            // with it: now if it was still queued, else when its generation (started meanwhile, and
            // stopped now) finds it settled. Otherwise the followers of its log end with it here.
            if (hub.TryGet(key, out var here))
            {
                if (!here.EndSettled(settled.Reply))
                {
                    here.RequestCancel();
                }

                return settled.Reply;
            }

            await EndLogAsync(key, settled.Reply);
        }

        if (ended is not null && await ended is { Turn: { } stored })
        {
            return stored;
        }

        return await GetReplyAsync(userId, chatId, seq, turn.CandidateId, cancellationToken);
    }

    /// <summary>The replica writing the reply's log, if the log can tell.</summary>
    private async Task<string?> LogWriterAsync(ReplyKey key)
    {
        try
        {
            return await log.WriterAsync(key);
        }
        catch (ReplyLogUnavailableException)
        {
            // The lease in storage names it instead.
            return null;
        }
    }

    /// <summary>The reply's final event once it arrives, following it within <paramref name="within"/>; null if it did not.</summary>
    private async Task<ReplyUpdate?> FollowToEndAsync(string userId, ReplyKey key, TimeSpan within, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(within);
        try
        {
            await foreach (var batch in FollowBatchesAsync(userId, key, afterSequence: long.MaxValue - 1, wait.Token))
            {
                if (batch[^1].IsFinal)
                {
                    return batch[^1];
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Not stored within the wait: the caller gets the reply as storage has it now.
        }

        return null;
    }

    private async Task EndLogAsync(ReplyKey key, ChatTurn settled)
    {
        try
        {
            await log.EndAsync(key, ReplyUpdate.FinalOf(settled, sequence: 0));
        }
        catch (ReplyLogUnavailableException ex)
        {
            // Its followers find the outcome in storage when the log stays silent.
            Log.LogEndFailed(logger, key.ToString(), ex.Message);
        }
    }

    /// <summary>
    /// A reply's events after <paramref name="afterSequence"/>, live, numbered as every replica
    /// numbers them: from this replica's stream while it owns the reply, else from a mirror of the
    /// shared log (a reply generated elsewhere, or handed over from here). Once the log is gone
    /// (expired, or never written without Redis) the stored reply is replayed as Accepted, Started,
    /// one Delta with the whole text, and the final event. The final event is always delivered: a
    /// caller resuming after it gets it again, numbered after <paramref name="afterSequence"/>.
    /// Events come in batches as they are there: what is there already in one batch (a caller
    /// catching up), then each batch as it is published. The last batch ends with the final event.
    /// A reply withheld by moderation never shows its text after the fact: a batch that ends with its
    /// final event carries no Delta (a live follower's earlier deltas are withdrawn by the Restarted
    /// before it), and a reply the caller found withheld already is replayed from storage alone.
    /// </summary>
    /// <param name="settled">The caller found the reply settled already (a resume after the end).</param>
    /// <param name="withheld">The reply as the caller found it, when moderation withheld it: replayed as storage holds it (no text).</param>
    /// <param name="continued">
    /// A continuation that has ended, which a repeated ContinueReply attaches to: as that continuation owes it (its Accepted
    /// text, the text it began from) and the candidate its replay ends with (see <see cref="OwedReplies.EndedContinuation"/>).
    /// Replayed from them when its log is gone, so its deltas are the stored text past the Accepted text (for an earlier
    /// continuation, later ones' text too) and never repeat it; while the log is there, it is followed like any other reply.
    /// </param>
    public async IAsyncEnumerable<IReadOnlyList<ReplyUpdate>> FollowBatchesAsync(
        string userId, ReplyKey key, long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken, bool settled = false,
        ChatTurn? withheld = null, (ChatTurn Owed, ChatTurn Ended)? continued = null)
    {
        // This replica's own stream while it owns the reply; a mirror of the shared log when it does
        // not, or no longer (handed over: the reply goes on elsewhere). A withheld reply: storage's replay.
        ReplyStream? source;
        if (withheld is not null)
        {
            source = new ReplyStream(key);
            StoredEnding.Finish(source, withheld);
        }
        else if (continued is var (owed, ended) && await LogGoneAsync(key))
        {
            source = new ReplyStream(key);
            source.Publish(ReplyUpdateKind.Accepted, turn: owed with { State = ReplyState.Pending });
            source.Publish(ReplyUpdateKind.Started, characterId: owed.CharacterId);
            StoredEnding.Finish(source, ended);
        }
        else
        {
            source = hub.TryGet(key, out var owned) ? owned.Stream : null;
        }

        ReplyMirrors.MirrorLease? mirror = null;
        try
        {
            var lastSequence = afterSequence;
            while (true)
            {
                if (source is null)
                {
                    mirror = mirrors.Follow(userId, key, settled);
                    source = mirror.Stream;
                }

                // A stream ends at its final event: no batch holds anything after it.
                var sawFinal = false;
                await foreach (var batch in source.ReadBatchesAsync(lastSequence, cancellationToken))
                {
                    lastSequence = batch[^1].Sequence;
                    sawFinal = batch[^1].IsFinal;
                    yield return batch[^1].IsWithheld ? [.. batch.Where(e => e.Kind != ReplyUpdateKind.Delta)] : batch;
                }

                if (source.IsFinished)
                {
                    if (!sawFinal)
                    {
                        // Resumed after the end.
                        yield return [source.Snapshot(0)[^1] with { Sequence = lastSequence + 1 }];
                    }

                    yield break;
                }

                if (mirror is not null)
                {
                    // The mirror stopped without an end (this replica is stopping): the caller resumes.
                    yield break;
                }

                source = null;
            }
        }
        finally
        {
            mirror?.Dispose();
        }
    }

    /// <summary>
    /// Whether a settled continuation's log can no longer give its events (expired, never written, or Redis
    /// not answering): only then is a repeat replayed from storage. While the log is there it is followed,
    /// so the repeat's events carry the same numbers as every other follower's and a caller that mixes the
    /// repeat's stream with a StreamReply resume never gets text twice.
    /// </summary>
    private async Task<bool> LogGoneAsync(ReplyKey key)
    {
        if (!log.IsEnabled)
        {
            return true;
        }

        try
        {
            // Its first entry alone tells (the follower reads the rest): a log trimmed at its start cannot give the
            // whole continuation either (a follower would fall back to storage).
            var read = await log.ReadFirstAsync(key);
            return read.Missing || read.Events is [var first, ..] && first.Sequence != 1 && first.Kind != ReplyUpdateKind.Restarted;
        }
        catch (ReplyLogUnavailableException)
        {
            return true;
        }
        catch (InvalidOperationException)
        {
            // The log lost events a full replay needs.
            return true;
        }
    }

    /// <summary>The request's trace context, so the generation continues its trace after it returns.</summary>
    private static System.Diagnostics.ActivityContext CallerContext() => System.Diagnostics.Activity.Current?.Context ?? default;

    /// <summary>
    /// Queues replies just recorded under this replica's lease. (A repeated request only attaches
    /// to its replies: whoever holds their lease generates them.) A full queue is the caller's
    /// RESOURCE_EXHAUSTED; what was recorded stays owed, its lease is released, and recovery
    /// delivers it.
    /// </summary>
    private async Task DispatchAsync(IReadOnlyList<ChatTurn> replies)
    {
        var opened = replies
            .Where(r => r.State == ReplyState.Pending && r.CandidateId is not null)
            .Select(r => hub.Open(r.ReplyKey, attempt: 1, r))
            .OfType<OwnedReply>()
            .ToList();

        if (await dispatcher.TryDispatchAsync(opened, CallerContext()))
        {
            return;
        }

        // What was recorded stays owed under this replica's lease; recovery delivers it once the lease runs out.
        throw dispatcher.IsAcceptingWork
            ? new ChatException(ChatErrorKind.ResourceExhausted,
                "the reply queue is full; the message is recorded and its reply will be generated shortly (follow it with StreamReply)")
            {
                // A retry with the same request_id records nothing and attaches to the reply recovery generates.
                RetryAfter = QueueFullRetryAfter,
            }
            : new ChatException(ChatErrorKind.Unavailable,
                "the service is shutting down; the message is recorded and its reply will be generated by another replica (follow it with StreamReply)");
    }

    private static partial class Log
    {
        [LoggerMessage(3501, LogLevel.Warning, "Could not end the reply log of {Reply} ({Message}); its followers find the outcome in storage.")]
        public static partial void LogEndFailed(ILogger logger, string reply, string message);
    }
}
