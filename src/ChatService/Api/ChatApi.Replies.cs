using ChatService.Chats;
using Grpc.Core;

namespace ChatService.Api;

internal sealed partial class ChatApi
{
    public override async Task SendMessage(V1.SendMessageRequest request, IServerStreamWriter<V1.ReplyEvent> responseStream, ServerCallContext context)
    {
        var userId = CallerIdentity.UserId(context);
        var command = new SendCommand(
            UserId: userId,
            ChatId: RequestValidator.Id(request.ChatId, "chat_id"),
            Text: validate.MessageText(request.Text),
            RequestId: RequestValidator.RequestId(request.RequestId),
            ReplyCharacterIds: RequestValidator.IdList(request.ReplyCharacterIds, "reply_character_ids", 0, int.MaxValue));

        // The turn is durable before the caller hears anything.
        var receipt = await recorder.RecordAsync(command, context.CancellationToken);
        await responseStream.WriteAsync(ApiMapper.Accepted(receipt), context.CancellationToken);
    }
}
