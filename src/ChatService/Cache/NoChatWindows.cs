using ChatService.Chats;

namespace ChatService.Cache;

/// <summary>No history cache (Redis not configured): windows hold nothing, so readers go to the stores.</summary>
internal sealed class NoChatWindows : IChatWindows
{
    public int MaxTurns => 0;

    public Task<ChatWindow?> GetAsync(string chatId, int maxTurns, CancellationToken cancellationToken) =>
        throw new NotSupportedException("there is no history cache (MaxTurns is 0): read the stores");

    public ValueTask<WindowHead?> GetHeadAsync(string chatId, int maxTurns, CancellationToken cancellationToken) =>
        throw new NotSupportedException("there is no history cache (MaxTurns is 0): read the stores");
}
