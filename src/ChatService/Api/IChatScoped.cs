namespace ChatService.Api;

/// <summary>A request about one chat: its <c>chat_id</c>, for the call's log scope and span (see <see cref="ChatScopeInterceptor"/>).</summary>
internal interface IChatScoped
{
    string ChatId { get; }
}
