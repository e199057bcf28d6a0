using ChatService.Chats;
using ChatService.Storage;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace ChatService.Api;

/// <summary>Searching the caller's chats, and deleting everything the caller owns.</summary>
internal sealed partial class ChatApi
{
    public override async Task<V1.SearchChatsResponse> SearchChats(V1.SearchChatsRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        var words = RequestValidator.SearchQuery(request.Query);
        var pageSize = RequestValidator.SearchPageSize(request.PageSize);
        var page = await housekeeping.SearchAsync(userId, words, pageSize, request.PageToken, context.CancellationToken);
        return new V1.SearchChatsResponse
        {
            Results =
            {
                page.Items.Select(hit => new V1.ChatSearchResult
                {
                    Chat = hit.Chat.ToProto(),
                    TitleMatched = hit.TitleMatched,
                    Matches = { hit.Matches.Select(m => new V1.ChatSearchMatch { Seq = m.Seq, Role = (V1.AuthorRole)(int)m.Role, Snippet = m.Snippet }) },
                }),
            },
            NextPageToken = page.NextPageToken ?? "",
        };
    }

    public override async Task<V1.DataDeletion> DeleteMyData(V1.DeleteMyDataRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        // Required, unlike a send's: a retry of a deletion must be told from a new one, which deletes again.
        if (request.RequestId.Length == 0)
        {
            ApiErrors.ThrowInvalidArgument("request_id", "request_id is required: 1..64 characters of A-Z, a-z, 0-9, '-' and '_'");
        }

        var requestId = RequestValidator.RequestId(request.RequestId);
        try
        {
            return ToProto(await deletions.DeleteAsync(userId, requestId, context.CancellationToken));
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The caller went away (or its deadline passed): the deletion goes on; say how far it got. Before its
            // first commit there is no record to read yet: it is running all the same.
            return await deletions.GetAsync(userId, CancellationToken.None) is { } record
                ? ToProto(record)
                : new V1.DataDeletion { State = V1.DataDeletionState.Running, RequestId = requestId };
        }
    }

    public override async Task<V1.DataDeletion> GetDataDeletion(V1.GetDataDeletionRequest request, ServerCallContext context)
    {
        var userId = context.GetUserId();
        return await deletions.GetAsync(userId, context.CancellationToken) is { } record
            ? ToProto(record)
            : throw new RpcException(new Status(StatusCode.NotFound, "no deletion of this user's data in the last 30 days"));
    }

    private static V1.DataDeletion ToProto(DataDeletionRecord record) => new()
    {
        State = record.State == DataDeletionState.Done ? V1.DataDeletionState.Done : V1.DataDeletionState.Running,
        RequestId = record.RequestId,
        ChatsDeleted = record.ChatsDeleted,
        CharactersDeleted = record.CharactersDeleted,
        PersonasDeleted = record.PersonasDeleted,
        LorebooksDeleted = record.LorebooksDeleted,
        CreateTime = record.CreateTime == default ? null : Timestamp.FromDateTimeOffset(record.CreateTime),
        UpdateTime = record.UpdateTime == default ? null : Timestamp.FromDateTimeOffset(record.UpdateTime),
        FinishTime = record.FinishTime is { } finished ? Timestamp.FromDateTimeOffset(finished) : null,
        FailedAttempts = record.FailedAttempts,
        // Its category only (storage_unavailable, cache_unavailable, mutation_limit, internal...): the full text
        // stays in the table and the logs, for operators.
        LastError = Privacy.DataDeletionErrors.Public(record.LastError),
        LastErrorTime = record.LastErrorTime is { } failed ? Timestamp.FromDateTimeOffset(failed) : null,
        NextAttemptTime = record is { BackingOff: true, LeaseUntil: { } retry } ? Timestamp.FromDateTimeOffset(retry) : null,
    };
}
