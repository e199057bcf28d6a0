using ChatService.Chats;
using ChatService.Dispatch;
using ChatService.Limits;
using Grpc.Core;

namespace ChatService.Api;

internal sealed partial class ChatApi
{
    private static readonly WriteOptions BufferedWrite = new(WriteFlags.BufferHint);

    public override async Task SendMessage(V1.SendMessageRequest request, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var command = new SendCommand(
            UserId: userId,
            ChatId: RequestValidator.Id(request.ChatId, "chat_id"),
            Text: validate.MessageText(request.Text),
            RequestId: RequestValidator.RequestId(request.RequestId),
            ReplyCharacterIds: validate.ReplyCharacters(request.ReplyCharacterIds));

        // Limits are checked before anything is written; the slot is held until the replies settle.
        using var admission = limits.Admit(userId, nameof(SendMessage));

        // The turn is durable before the caller hears anything; generation does not depend on this call.
        var receipt = await pipeline.SendAsync(command, context.CancellationToken);
        ChatScopeInterceptor.SetTurn(context, receipt.UserTurn.Seq);
        await StreamOwedAsync(userId, admission, receipt.UserTurn, receipt.PendingReplies, receipt.Duplicate, responseStream, context);
    }

    public override async Task StreamReply(V1.StreamReplyRequest request, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var (chatId, seq) = RequestValidator.Turn(request);
        var candidateId = RequestValidator.OptionalId(request.CandidateId, "candidate_id");
        var afterSequence = RequestValidator.AfterSequence(request.AfterSequence);
        var turn = await pipeline.GetReplyToFollowAsync(userId, chatId, seq, candidateId, context.CancellationToken);
        // The candidate's newest generation (its latest continuation, if any), from after_sequence in its
        // own range; a sequence of an earlier generation streams this one from the start.
        var key = turn.ReplyKey;
        await FollowAsync(userId, key, Math.Max(0, afterSequence - key.SequenceBase), responseStream, context,
            settled: turn.State is not (ReplyState.Pending or ReplyState.Streaming), withheld: WithheldOrNull(turn));
    }

    public override async Task<V1.Turn> CancelReply(V1.CancelReplyRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var (chatId, seq) = RequestValidator.Turn(request);
        var candidateId = RequestValidator.OptionalId(request.CandidateId, "candidate_id");
        return (await pipeline.CancelAsync(userId, chatId, seq, candidateId, context.CancellationToken)).ToProto();
    }

    public override async Task Regenerate(V1.RegenerateRequest request, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var (chatId, seq) = RequestValidator.Turn(request);
        var requestId = RequestValidator.RequestId(request.RequestId);

        using var admission = limits.Admit(userId, nameof(Regenerate));
        var owed = await pipeline.RegenerateAsync(userId, chatId, seq, requestId, context.CancellationToken);
        await StreamOwedAsync(userId, admission, userTurn: null, owed.Replies, owed.Duplicate, responseStream, context);
    }

    public override async Task ContinueReply(V1.ContinueReplyRequest request, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var (chatId, seq) = RequestValidator.Turn(request);
        var requestId = RequestValidator.RequestId(request.RequestId);

        // Limits as Regenerate's: checked before anything is written, the slot held until the continuation settles.
        using var admission = limits.Admit(userId, nameof(ContinueReply));
        var owed = await pipeline.ContinueReplyAsync(userId, chatId, seq, requestId, context.CancellationToken);
        await StreamOwedAsync(userId, admission, userTurn: null, owed.Replies, owed.Duplicate, responseStream, context, owed.EndedContinuation);
    }

    public override async Task<V1.ListCandidatesResponse> ListCandidates(V1.ListCandidatesRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var (chatId, seq) = RequestValidator.Turn(request);
        var candidates = await pipeline.ListCandidatesAsync(userId, chatId, seq, context.CancellationToken);
        return new V1.ListCandidatesResponse { Candidates = { candidates.Select(c => c.ToProto()) } };
    }

    public override async Task<V1.ReplyPrompt> GetReplyPrompt(V1.GetReplyPromptRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var (chatId, seq) = RequestValidator.Turn(request);
        var candidateId = RequestValidator.OptionalId(request.CandidateId, "candidate_id");
        // An admin reads any chat's; everyone else only their own (another's is NOT_FOUND, as everywhere).
        var owner = auth.Value.IsAdmin(userId) ? null : userId;
        return (await pipeline.GetReplyPromptAsync(owner, chatId, seq, candidateId, context.CancellationToken)).ToProto();
    }

    public override async Task<V1.Turn> SelectCandidate(V1.SelectCandidateRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var (chatId, seq) = RequestValidator.Turn(request);
        var candidateId = RequestValidator.Id(request.CandidateId, "candidate_id");
        return (await pipeline.SelectAsync(userId, chatId, seq, candidateId, context.CancellationToken)).ToProto();
    }

    public override async Task ContinueChat(V1.ContinueChatRequest request, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var turns = RequestValidator.ContinueTurns(request.Turns);
        var requestId = RequestValidator.RequestId(request.RequestId);
        using var admission = limits.Admit(userId, nameof(ContinueChat));
        var owed = await pipeline.ContinueAsync(userId, chatId, turns, requestId, context.CancellationToken);
        await StreamOwedAsync(userId, admission, userTurn: null, owed.Replies, owed.Duplicate, responseStream, context);
    }

    /// <summary>
    /// The rest of a call that owes replies: the user's reply slot is held until they settle (a
    /// repeated request owes nothing new), then Accepted and each reply's events are written.
    /// </summary>
    /// <param name="endedContinuation">A repeated ContinueReply whose continuation has ended: the candidate its replay ends with (see <see cref="OwedReplies.EndedContinuation"/>).</param>
    private async Task StreamOwedAsync(string userId, ReplyAdmission admission, ChatTurn? userTurn, IReadOnlyList<ChatTurn> replies, bool duplicate,
        IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context, ChatTurn? endedContinuation = null)
    {
        admission.HoldUntil(duplicate ? Task.CompletedTask : pipeline.WhenEnded(replies));
        await WriteEventAsync(responseStream, ApiMapper.Accepted(userTurn, replies, duplicate), context, context.CancellationToken);
        if (pipeline.StageTimings)
        {
            foreach (var reply in replies)
            {
                if (reply.CandidateId is not null)
                {
                    pipeline.Mark(reply.ReplyKey, ReplyStage.AcceptedWritten);
                }
            }
        }

        await StreamRepliesAsync(userId, replies, responseStream, context, endedContinuation);

        // The caller saw every reply end: free the slot now rather than when the hub's continuation runs.
        admission.Release();
    }

    /// <summary>
    /// Streams each reply after its Accepted event (already sent), one reply after the other. If
    /// the caller goes away, this stops; generation does not.
    /// </summary>
    private async Task StreamRepliesAsync(string userId, IReadOnlyList<ChatTurn> replies, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context,
        ChatTurn? endedContinuation = null)
    {
        foreach (var reply in replies.Where(r => r.CandidateId is not null))
        {
            await FollowAsync(userId, reply.ReplyKey, afterSequence: 1, responseStream, context,
                withheld: WithheldOrNull(reply), continued: endedContinuation is null ? null : (reply, endedContinuation));
        }
    }

    /// <summary>The reply when moderation withheld it already (a resume, or a retried request): it is replayed from storage, never from its log.</summary>
    private static ChatTurn? WithheldOrNull(ChatTurn reply) =>
        ReplyFailureCodes.IsWithheld(reply.State, reply.FailureCode) ? reply : null;

    /// <summary>
    /// Writes a reply's events to the caller. Streams end when the service begins shutting down,
    /// so open streams never hold the shutdown up; the client resumes with StreamReply.
    /// </summary>
    private async Task FollowAsync(string userId, ReplyKey key, long afterSequence, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context,
        bool settled = false, ChatTurn? withheld = null, (ChatTurn Owed, ChatTurn Ended)? continued = null)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);

        // Dispatch:StageTimings off: no mark at all (not one per delta).
        var firstDeltaMarked = !pipeline.StageTimings;
        try
        {
            await foreach (var batch in pipeline.FollowBatchesAsync(userId, key, afterSequence, stop.Token, settled, withheld, continued))
            {
                // A caller catching up gets what is there in one flush, not one per event.
                for (var i = 0; i < batch.Count; i++)
                {
                    responseStream.WriteOptions = i < batch.Count - 1 ? BufferedWrite : null;
                    await WriteEventAsync(responseStream, ApiMapper.ToProto(key, batch[i]), context, stop.Token);
                    if (!firstDeltaMarked && batch[i].Kind == ReplyUpdateKind.Delta)
                    {
                        pipeline.Mark(key, ReplyStage.FirstDeltaWritten);
                        firstDeltaMarked = true;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable,
                $"the service is shutting down; resume reply {key.Seq} with StreamReply (its generation goes on elsewhere)"));
        }
    }

    /// <summary>
    /// Writes one event unless the call is over. The token is checked here rather than handed to
    /// the writer: grpc-dotnet resets the stream from the token's callback, which can land in the
    /// middle of that very write (and catching up on a reply writes many events back to back).
    /// </summary>
    private static Task WriteEventAsync(IServerStreamWriter<V1.ReplyEvent> responseStream, V1.ReplyEvent replyEvent, ServerCallContext context, CancellationToken stop)
    {
        stop.ThrowIfCancellationRequested();
        if (context.Deadline <= DateTime.UtcNow)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, "the call's deadline passed before it finished"));
        }

        return responseStream.WriteAsync(replyEvent);
    }
}
