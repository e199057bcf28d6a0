using ChatService.Chats;

namespace ChatService.Cache;

/// <summary>No history cache (Redis not configured): committed changes have nothing to keep in step.</summary>
internal sealed class NoChatChanges : IChatChangeSink
{
    public Task ChangedAsync(ChatChange change) => Task.CompletedTask;

    public Task<string?> IntendAsync(string chatId, string? renew = null) => Task.FromResult<string?>(null);

    public Task ReleaseAsync(string chatId, string intent) => Task.CompletedTask;
}
