using System.Diagnostics;
using ChatService.Chats;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace ChatService.Api;

/// <summary>
/// Puts the chat (and turn) a request is about on everything the request does: a logging scope
/// with <c>ChatId</c> / <c>TurnSeq</c> around the whole call, and the same values as
/// <c>chat.id</c> / <c>chat.turn.seq</c> on the RPC's span. Read from any request that is
/// <see cref="IChatScoped"/> (and <see cref="ITurnScoped"/>), so handlers need not repeat it. Runs outside
/// <see cref="ErrorMappingInterceptor"/>, so its failure logs carry the scope too.
/// </summary>
internal sealed class ChatScopeInterceptor(ILogger<ChatScopeInterceptor> logger) : Interceptor
{
    private const string ScopeKey = "chat.log_scope";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        using var scope = Begin(request, context);
        return await continuation(request, context);
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using var scope = Begin(request, context);
        await continuation(request, responseStream, context);
    }

    /// <summary>Names the turn a request created once it is known (SendMessage allocates it while recording).</summary>
    public static void SetTurn(ServerCallContext context, long seq)
    {
        if (context.UserState.TryGetValue(ScopeKey, out var value) && value is ChatLogScope scope)
        {
            scope.TurnSeq = seq;
        }

        Activity.Current?.SetTag("chat.turn.seq", seq);
    }

    private IDisposable? Begin(object request, ServerCallContext context)
    {
        // Only well-formed ids go into logs and spans; a malformed one is rejected by the handler anyway.
        if (request is not IChatScoped { ChatId: var chatId } || !Ids.IsValid(chatId))
        {
            return null;
        }

        long? seq = request is ITurnScoped { Seq: > 0 and var value } ? value : null;
        var scope = new ChatLogScope(chatId, seq);
        context.UserState[ScopeKey] = scope;
        if (Activity.Current is { IsAllDataRequested: true } activity)
        {
            activity.SetTag("chat.id", chatId);
            if (seq is not null)
            {
                activity.SetTag("chat.turn.seq", seq);
            }
        }

        return logger.BeginScope(scope);
    }
}
