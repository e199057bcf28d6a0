using ChatService.Chats;
using ChatService.Dispatch;
using Grpc.Core;

namespace ChatService.Api;

internal sealed partial class ChatApi
{
    public override async Task SendMessage(V1.SendMessageRequest request, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context)
    {
        var userId = await caller.UserIdAsync(context);
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
        admission.HoldUntil(receipt.Duplicate ? Task.CompletedTask : pipeline.WhenEnded(receipt.PendingReplies));
        await responseStream.WriteAsync(ApiMapper.Accepted(receipt.UserTurn, receipt.PendingReplies, receipt.Duplicate), context.CancellationToken);
        await StreamRepliesAsync(userId, receipt.PendingReplies, responseStream, context);

        // The caller saw every reply end: free the slot now rather than when the hub's continuation runs.
        admission.Release();
    }

    /// <summary>The largest integer a JavaScript number holds exactly, so browser clients can echo any sequence back.</summary>
    private const long MaxAfterSequence = (1L << 53) - 1;

    public override async Task StreamReply(V1.StreamReplyRequest request, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context)
    {
        var userId = await caller.UserIdAsync(context);
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var seq = RequestValidator.Seq(request.Seq);
        var candidateId = request.CandidateId.Length == 0 ? null : RequestValidator.Id(request.CandidateId, "candidate_id");
        // A resume past the end gets the final event numbered after_sequence + 1, which must not overflow.
        if (request.AfterSequence is < 0 or > MaxAfterSequence)
        {
            ApiErrors.ThrowInvalidArgument("after_sequence", $"after_sequence must be between 0 and {MaxAfterSequence}, got {request.AfterSequence}");
        }

        var turn = await pipeline.GetReplyAsync(userId, chatId, seq, candidateId, context.CancellationToken);
        await FollowAsync(userId, new ReplyKey(chatId, seq, turn.CandidateId!), request.AfterSequence, responseStream, context);
    }

    public override async Task<V1.Turn> CancelReply(V1.CancelReplyRequest request, ServerCallContext context)
    {
        var userId = await caller.UserIdAsync(context);
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var seq = RequestValidator.Seq(request.Seq);
        var candidateId = request.CandidateId.Length == 0 ? null : RequestValidator.Id(request.CandidateId, "candidate_id");
        return (await pipeline.CancelAsync(userId, chatId, seq, candidateId, context.CancellationToken)).ToProto();
    }

    public override async Task Regenerate(V1.RegenerateRequest request, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context)
    {
        var userId = await caller.UserIdAsync(context);
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var seq = RequestValidator.Seq(request.Seq);
        var requestId = RequestValidator.RequestId(request.RequestId);

        using var admission = limits.Admit(userId, nameof(Regenerate));
        var owed = await pipeline.RegenerateAsync(userId, chatId, seq, requestId, context.CancellationToken);
        admission.HoldUntil(owed.Duplicate ? Task.CompletedTask : pipeline.WhenEnded(owed.Replies));
        await responseStream.WriteAsync(ApiMapper.Accepted(null, owed.Replies, owed.Duplicate), context.CancellationToken);
        await StreamRepliesAsync(userId, owed.Replies, responseStream, context);
        admission.Release();
    }

    public override async Task<V1.Turn> SelectCandidate(V1.SelectCandidateRequest request, ServerCallContext context)
    {
        var userId = await caller.UserIdAsync(context);
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var seq = RequestValidator.Seq(request.Seq);
        var candidateId = RequestValidator.Id(request.CandidateId, "candidate_id");
        return (await pipeline.SelectAsync(userId, chatId, seq, candidateId, context.CancellationToken)).ToProto();
    }

    public override async Task ContinueChat(V1.ContinueChatRequest request, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context)
    {
        var userId = await caller.UserIdAsync(context);
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        if (request.Turns is < 1 or > ReplyPolicy.MaxContinuationTurns)
        {
            ApiErrors.ThrowInvalidArgument("turns", $"turns must be between 1 and {ReplyPolicy.MaxContinuationTurns}, got {request.Turns}");
        }

        var requestId = RequestValidator.RequestId(request.RequestId);
        using var admission = limits.Admit(userId, nameof(ContinueChat));
        var owed = await pipeline.ContinueAsync(userId, chatId, request.Turns, requestId, context.CancellationToken);
        admission.HoldUntil(owed.Duplicate ? Task.CompletedTask : pipeline.WhenEnded(owed.Replies));
        await responseStream.WriteAsync(ApiMapper.Accepted(null, owed.Replies, owed.Duplicate), context.CancellationToken);
        await StreamRepliesAsync(userId, owed.Replies, responseStream, context);
        admission.Release();
    }

    /// <summary>
    /// Streams each reply after its Accepted event (already sent), one reply after the other. If
    /// the caller goes away, this stops; generation does not.
    /// </summary>
    private async Task StreamRepliesAsync(string userId, IReadOnlyList<ChatTurn> replies, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context)
    {
        foreach (var reply in replies.Where(r => r.CandidateId is not null))
        {
            await FollowAsync(userId, new ReplyKey(reply.ChatId, reply.Seq, reply.CandidateId!), afterSequence: 1, responseStream, context);
        }
    }

    /// <summary>
    /// Writes a reply's events to the caller. Streams end when the service begins shutting down,
    /// so open streams never hold the shutdown up; the client resumes with StreamReply.
    /// </summary>
    private async Task FollowAsync(string userId, ReplyKey key, long afterSequence, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await foreach (var update in pipeline.FollowAsync(userId, key, afterSequence, stop.Token))
            {
                await responseStream.WriteAsync(ApiMapper.ToProto(key, update), stop.Token);
            }
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable,
                $"the service is shutting down; resume reply {key.Seq} with StreamReply (its generation goes on elsewhere)"));
        }
    }
}
