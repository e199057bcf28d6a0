using System.Runtime.CompilerServices;
using ChatService.Chats;
using Microsoft.Extensions.Options;

namespace ChatService.Dispatch;

/// <summary>
/// The send/reply pipeline as the API sees it: record, dispatch, and follow replies live or
/// from storage; cancel, regenerate, select and continue.
/// </summary>
public sealed class ReplyPipeline(
    MessageRecorder recorder,
    IReplyStore store,
    ReplyHub hub,
    ReplyDispatcher dispatcher,
    IOptions<DispatchOptions> options,
    TimeProvider timeProvider)
{
    /// <summary>Records the user turn and owed replies, then queues the replies.</summary>
    public async Task<SendReceipt> SendAsync(SendCommand command, CancellationToken cancellationToken)
    {
        var receipt = await recorder.RecordAsync(command, cancellationToken);
        Dispatch(receipt.PendingReplies);
        return receipt;
    }

    public async Task<OwedReplies> RegenerateAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken)
    {
        var owed = await store.AddCandidateAsync(userId, chatId, seq, requestId, cancellationToken);
        Dispatch(owed.Replies);
        return owed;
    }

    public async Task<OwedReplies> ContinueAsync(string userId, string chatId, int turns, string requestId, CancellationToken cancellationToken)
    {
        var owed = await store.RecordContinuationAsync(userId, chatId, turns, requestId, cancellationToken);
        Dispatch(owed.Replies);
        return owed;
    }

    /// <summary>A reply turn of the user's chat, with the given candidate or its primary one.</summary>
    public async Task<ChatTurn> GetReplyAsync(string userId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken)
    {
        var turn = await store.GetReplyAsync(userId, chatId, seq, candidateId, cancellationToken);
        if (turn is null)
        {
            throw candidateId is null ? ChatException.TurnNotFound(chatId, seq) : new ChatException(ChatErrorKind.NotFound, $"candidate {candidateId} of turn {seq} not found");
        }

        return turn.Role == AuthorRole.Character
            ? turn
            : throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {seq} is a user turn; it has no reply stream");
    }

    public Task<ChatTurn> SelectAsync(string userId, string chatId, long seq, string candidateId, CancellationToken cancellationToken) =>
        store.SelectCandidateAsync(userId, chatId, seq, candidateId, cancellationToken);

    /// <summary>
    /// Stops a reply: a generation running here is cancelled and stores what it produced; a reply
    /// owed but not yet started is marked cancelled. A finished reply is returned as it is.
    /// </summary>
    public async Task<ChatTurn> CancelAsync(string userId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken)
    {
        var turn = await GetReplyAsync(userId, chatId, seq, candidateId, cancellationToken);
        var key = new ReplyKey(chatId, seq, turn.CandidateId!);
        if (turn.State is not (ReplyState.Pending or ReplyState.Streaming))
        {
            return turn;
        }

        if (hub.TryGet(key, out var stream) && stream.RequestCancel())
        {
            await stream.Ended.WaitAsync(cancellationToken);
        }
        else
        {
            await store.CancelOwedReplyAsync(userId, key, cancellationToken);
        }

        return await store.GetReplyAsync(userId, chatId, seq, turn.CandidateId, cancellationToken) ?? throw ChatException.TurnNotFound(chatId, seq);
    }

    /// <summary>
    /// A reply's events after <paramref name="afterSequence"/>: live from this replica's hub, or
    /// from storage when the reply is generated elsewhere or already finished (then as Accepted,
    /// Started, one Delta with the whole text, and the final event).
    /// </summary>
    public async IAsyncEnumerable<ReplyUpdate> FollowAsync(
        string userId, ReplyKey key, long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var lastSequence = afterSequence;
        if (hub.TryGet(key, out var stream))
        {
            await foreach (var update in stream.ReadAsync(afterSequence, cancellationToken))
            {
                lastSequence = update.Sequence;
                yield return update;
                if (update.IsFinal)
                {
                    yield break;
                }
            }
        }

        // Not (or no longer) live here: wait in storage for the outcome.
        ChatTurn turn;
        while (true)
        {
            turn = await store.GetReplyAsync(userId, key.ChatId, key.Seq, key.CandidateId, cancellationToken)
                ?? throw ChatException.TurnNotFound(key.ChatId, key.Seq);
            if (turn.State is not (ReplyState.Pending or ReplyState.Streaming))
            {
                break;
            }

            await Task.Delay(options.Value.StoragePollInterval, timeProvider, cancellationToken);
        }

        foreach (var update in Replay(turn).Where(u => u.Sequence > lastSequence))
        {
            yield return update;
        }
    }

    /// <summary>The events of a stored, finished reply.</summary>
    private static IEnumerable<ReplyUpdate> Replay(ChatTurn turn)
    {
        yield return new ReplyUpdate(1, ReplyUpdateKind.Accepted, turn with { State = ReplyState.Pending, Text = "" });
        yield return new ReplyUpdate(2, ReplyUpdateKind.Started, CharacterId: turn.CharacterId);
        var sequence = 2L;
        if (turn.Text.Length > 0)
        {
            yield return new ReplyUpdate(++sequence, ReplyUpdateKind.Delta, Text: turn.Text);
        }

        yield return turn.State == ReplyState.Complete
            ? new ReplyUpdate(sequence + 1, ReplyUpdateKind.Completed, turn)
            : new ReplyUpdate(sequence + 1, ReplyUpdateKind.Failed, turn,
                FailureCode: turn.State == ReplyState.Cancelled ? "CANCELLED" : "FAILED", FailureReason: turn.FailureReason);
    }

    /// <summary>
    /// Queues the pending replies that are not already being worked here. A full queue is the
    /// caller's RESOURCE_EXHAUSTED; what was recorded stays owed and recovery delivers it.
    /// </summary>
    private void Dispatch(IReadOnlyList<ChatTurn> replies)
    {
        var opened = new List<ReplyStream>();
        foreach (var reply in replies.Where(r => r.State == ReplyState.Pending && r.CandidateId is not null))
        {
            var stream = hub.Open(new ReplyKey(reply.ChatId, reply.Seq, reply.CandidateId!), reply, out var created);
            if (created)
            {
                opened.Add(stream);
            }
        }

        if (opened.Count == 0 || dispatcher.TryEnqueue(new ReplyJob(opened.Select(s => s.Key).ToList(), timeProvider.GetUtcNow())))
        {
            return;
        }

        DispatchMetrics.JobRejected();
        foreach (var stream in opened)
        {
            hub.Discard(stream);
        }

        throw new ChatException(ChatErrorKind.ResourceExhausted,
            "the reply queue is full; the message is recorded and its reply will be generated shortly (follow it with StreamReply)");
    }
}
