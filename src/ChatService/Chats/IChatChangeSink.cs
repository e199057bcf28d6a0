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

    /// <summary>
    /// Announces, before the commit, a change to the chat: should the change never be handed in
    /// (the writer dies between its commit and <see cref="ChangedAsync"/>), every replica stops
    /// trusting the chat's cached window by a deadline. Returns the announcement, which the
    /// change (<see cref="ChatChange.Intent"/>) or <see cref="ReleaseAsync"/> ends; null without
    /// a cache. Given <paramref name="renew"/>, renews that announcement's deadline. Never throws.
    /// </summary>
    Task<string?> IntendAsync(string chatId, string? renew = null);

    /// <summary>Ends an announcement whose change did not commit, or changed nothing history shows. Never throws.</summary>
    Task ReleaseAsync(string chatId, string intent);
}
