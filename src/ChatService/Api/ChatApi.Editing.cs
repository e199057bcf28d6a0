using Grpc.Core;

namespace ChatService.Api;

internal sealed partial class ChatApi
{
    public override async Task<V1.Turn> EditTurn(V1.EditTurnRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var (chatId, seq) = RequestValidator.Turn(request);
        var text = validate.MessageText(request.Text);
        var requestId = RequestValidator.RequestId(request.RequestId);
        var edit = await shaping.EditAsync(userId, chatId, seq, text, requestId, context.CancellationToken);
        return edit.Turn.ToProto();
    }

    public override async Task<V1.ListTurnRevisionsResponse> ListTurnRevisions(V1.ListTurnRevisionsRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var (chatId, seq) = RequestValidator.Turn(request);
        var revisions = await shaping.ListRevisionsAsync(userId, chatId, seq, context.CancellationToken);
        return new V1.ListTurnRevisionsResponse { Revisions = { revisions.Select(r => r.ToProto()) } };
    }

    public override async Task EditAndRegenerate(V1.EditTurnRequest request, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var (chatId, seq) = RequestValidator.Turn(request);
        var text = validate.MessageText(request.Text);
        var requestId = RequestValidator.RequestId(request.RequestId);

        // Limits as Regenerate's: checked before anything is written, the slot held until the new candidate settles.
        using var admission = limits.Admit(userId, nameof(EditAndRegenerate));
        var edited = await pipeline.EditAndRegenerateAsync(userId, chatId, seq, text, requestId, context.CancellationToken);
        await StreamOwedAsync(userId, admission, edited.UserTurn, edited.Owed.Replies, edited.Owed.Duplicate, responseStream, context);
    }
}
