using ChatService.Chats;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace ChatService.Api;

internal sealed partial class ChatApi
{
    public override async Task<V1.ChatMemory> GetChatMemory(V1.GetChatMemoryRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        return ToProto(chatId, await memories.GetAsync(userId, chatId, context.CancellationToken));
    }

    public override async Task<V1.ChatMemory> UpdateChatMemory(V1.UpdateChatMemoryRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var note = RequestValidator.MemoryNote(request.Note, memoryOptions.Value.MaxNoteChars);
        var depth = RequestValidator.MemoryDepth(request);
        return ToProto(chatId, await memories.UpdateAsync(userId, chatId, note, depth, context.CancellationToken));
    }

    private V1.ChatMemory ToProto(string chatId, ChatMemory memory)
    {
        var proto = new V1.ChatMemory
        {
            ChatId = chatId,
            Note = memory.Note ?? "",
            EffectiveDepth = memory.EffectiveDepth(memoryOptions.Value.DefaultDepth) ?? ChatMemory.AheadOfTurns,
            UpdateTime = memory.UpdateTime is { } updated ? Timestamp.FromDateTimeOffset(updated) : null,
            Summary = memory.Summary is { } summary
                ? new V1.ChatSummary
                {
                    Version = summary.Version,
                    ThroughSeq = summary.ThroughSeq,
                    Text = summary.Text,
                    CreateTime = Timestamp.FromDateTimeOffset(summary.CreateTime),
                }
                : null,
        };
        if (memory.Depth is { } depth)
        {
            proto.Depth = depth;
        }

        return proto;
    }
}
