using ChatService.Chats;
using Grpc.Core;

namespace ChatService.Api;

/// <summary>Lorebooks: the caller's own, attached to their characters or chats.</summary>
internal sealed partial class ChatApi
{
    public override async Task<V1.Lorebook> CreateLorebook(V1.CreateLorebookRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var book = RequestValidator.NewLorebook(userId, request);
        return (await lorebooks.CreateAsync(book, context.CancellationToken)).ToProto();
    }

    public override async Task<V1.Lorebook> GetLorebook(V1.GetLorebookRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var id = RequestValidator.Id(request.LorebookId, "lorebook_id");
        return (await lorebooks.GetAsync(userId, id, context.CancellationToken)).ToProto();
    }

    public override async Task<V1.ListLorebooksResponse> ListLorebooks(V1.ListLorebooksRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.OptionalId(request.ChatId, "chat_id");
        // 0: every book (a user has at most LoreLimits.MaxBooksPerUser), as before paging: older clients send none.
        var pageSize = request.PageSize == 0 ? LoreLimits.MaxBooksPerUser : RequestValidator.PageSize(request.PageSize);
        var page = await lorebooks.ListPageAsync(userId, chatId, pageSize, request.PageToken, context.CancellationToken);
        return new V1.ListLorebooksResponse { Lorebooks = { page.Items.Select(b => b.ToProto()) }, NextPageToken = page.NextPageToken ?? "" };
    }

    public override async Task<V1.Lorebook> UpdateLorebook(V1.UpdateLorebookRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var update = RequestValidator.LorebookUpdate(userId, request);
        return (await lorebooks.UpdateAsync(userId, update, context.CancellationToken)).ToProto();
    }

    public override async Task<Google.Protobuf.WellKnownTypes.Empty> DeleteLorebook(V1.DeleteLorebookRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var id = RequestValidator.Id(request.LorebookId, "lorebook_id");
        await lorebooks.DeleteAsync(userId, id, context.CancellationToken);
        return new Google.Protobuf.WellKnownTypes.Empty();
    }

    public override async Task<V1.ChatLorebooks> AttachLorebook(V1.AttachLorebookRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var id = RequestValidator.Id(request.LorebookId, "lorebook_id");
        return LorebookMapper.ToProto(chatId, await lorebooks.AttachAsync(userId, chatId, id, context.CancellationToken));
    }

    public override async Task<V1.ChatLorebooks> DetachLorebook(V1.DetachLorebookRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var chatId = RequestValidator.Id(request.ChatId, "chat_id");
        var id = RequestValidator.Id(request.LorebookId, "lorebook_id");
        return LorebookMapper.ToProto(chatId, await lorebooks.DetachAsync(userId, chatId, id, context.CancellationToken));
    }
}
