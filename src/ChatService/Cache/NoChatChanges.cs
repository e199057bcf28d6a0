using ChatService.Chats;

namespace ChatService.Cache;

/// <summary>No history cache (Redis not configured): committed changes have nothing to keep in step.</summary>
internal sealed class NoChatChanges : IChatChangeSink
{
    public Task ChangedAsync(ChatChange change) => Task.CompletedTask;
}
