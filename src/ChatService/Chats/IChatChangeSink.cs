namespace ChatService.Chats;

/// <summary>
/// Observes what the stores committed, after the commit and before the writer's caller hears of
/// it: the history cache keeps its windows in step through it. Without a cache it does nothing.
/// </summary>
public interface IChatChangeSink
{
    /// <summary>
    /// Takes one change in. Never throws, and takes no cancellation token: a change that committed
    /// must reach the cache (or mark it stale) whether or not the writer's caller is still there.
    /// </summary>
    Task ChangedAsync(ChatChange change);
}
