namespace ChatService.Chats;

/// <summary>
/// Users' lorebooks: created, read, changed and deleted by their owner only, attached to one of the
/// owner's characters or to the owner's chats. Books are checked (<see cref="LorebookRules"/>) before
/// they reach this directory, so a book that is stored always compiles.
/// </summary>
public sealed class LorebookDirectory(ILorebookStore store)
{
    public static ChatException NotFound(string lorebookId) => new(ChatErrorKind.NotFound, $"lorebook {lorebookId} not found");

    public Task<Lorebook> CreateAsync(Lorebook book, CancellationToken cancellationToken) => store.CreateAsync(book, cancellationToken);

    public async Task<Lorebook> GetAsync(string userId, string lorebookId, CancellationToken cancellationToken) =>
        await store.GetAsync(userId, lorebookId, cancellationToken) ?? throw NotFound(lorebookId);

    public Task<IReadOnlyList<Lorebook>> ListAsync(string userId, string? chatId, CancellationToken cancellationToken) =>
        store.ListAsync(userId, chatId, cancellationToken);

    public Task<Lorebook> UpdateAsync(string userId, LorebookUpdate update, CancellationToken cancellationToken) =>
        store.UpdateAsync(userId, update, cancellationToken);

    public async Task DeleteAsync(string userId, string lorebookId, CancellationToken cancellationToken)
    {
        if (!await store.DeleteAsync(userId, lorebookId, cancellationToken))
        {
            throw NotFound(lorebookId);
        }
    }

    public Task<IReadOnlyList<string>> AttachAsync(string userId, string chatId, string lorebookId, CancellationToken cancellationToken) =>
        store.AttachAsync(userId, chatId, lorebookId, cancellationToken);

    public Task<IReadOnlyList<string>> DetachAsync(string userId, string chatId, string lorebookId, CancellationToken cancellationToken) =>
        store.DetachAsync(userId, chatId, lorebookId, cancellationToken);
}
