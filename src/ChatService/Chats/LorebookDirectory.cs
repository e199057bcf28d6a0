namespace ChatService.Chats;

/// <summary>
/// Users' lorebooks: created, read, changed and deleted by their owner only, attached to one of the
/// owner's characters or to the owner's chats. Books are checked (<see cref="LorebookRules"/>) before
/// they reach this directory, so a book that is stored always compiles. Every write tells
/// <see cref="IDefinitionChanges"/> once it is over unless it was refused, so replicas stop using what it replaced.
/// </summary>
public sealed class LorebookDirectory(ILorebookStore store, IDefinitionChanges changes)
{
    public static ChatException NotFound(string lorebookId) => new(ChatErrorKind.NotFound, $"lorebook {lorebookId} not found");

    public Task<Lorebook> CreateAsync(Lorebook book, CancellationToken cancellationToken) =>
        Changing(() => store.CreateAsync(book, cancellationToken), () => changes.LorebookChangedAsync(book.Id, book.CharacterId));

    public async Task<Lorebook> GetAsync(string userId, string lorebookId, CancellationToken cancellationToken) =>
        await store.GetAsync(userId, lorebookId, cancellationToken) ?? throw NotFound(lorebookId);

    public Task<IReadOnlyList<Lorebook>> ListAsync(string userId, string? chatId, CancellationToken cancellationToken) =>
        store.ListAsync(userId, chatId, cancellationToken);

    public async Task<Lorebook> UpdateAsync(string userId, LorebookUpdate update, CancellationToken cancellationToken)
    {
        string? characterId = null;
        return await Changing(
            async () =>
            {
                var updated = await store.UpdateAsync(userId, update, cancellationToken);
                characterId = updated.CharacterId;
                return updated;
            },
            // When the outcome is unknown, the character it may have moved to is the one the update names.
            () => changes.LorebookChangedAsync(update.LorebookId, characterId ?? update.Values.CharacterId));
    }

    public async Task DeleteAsync(string userId, string lorebookId, CancellationToken cancellationToken)
    {
        if (!await Changing(() => store.DeleteAsync(userId, lorebookId, cancellationToken), () => changes.LorebookChangedAsync(lorebookId, null)))
        {
            throw NotFound(lorebookId);
        }
    }

    public Task<IReadOnlyList<string>> AttachAsync(string userId, string chatId, string lorebookId, CancellationToken cancellationToken) =>
        Changing(() => store.AttachAsync(userId, chatId, lorebookId, cancellationToken), () => changes.ChatLorebooksChangedAsync(chatId));

    public Task<IReadOnlyList<string>> DetachAsync(string userId, string chatId, string lorebookId, CancellationToken cancellationToken) =>
        Changing(() => store.DetachAsync(userId, chatId, lorebookId, cancellationToken), () => changes.ChatLorebooksChangedAsync(chatId));

    private static Task<T> Changing<T>(Func<Task<T>> write, Func<Task> changed) => DefinitionWrites.RunAsync(write, changed);
}
