namespace ChatService.Api;

/// <summary>A request about one turn of a chat: its <c>chat_id</c> and <c>seq</c>.</summary>
internal interface ITurnScoped : IChatScoped
{
    long Seq { get; }
}
