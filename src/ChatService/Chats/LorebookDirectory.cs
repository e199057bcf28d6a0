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

    /// <summary>Every book of the user's (or the chat's), by name: a user has at most <see cref="LoreLimits.MaxBooksPerUser"/>.</summary>
    public Task<IReadOnlyList<Lorebook>> ListAsync(string userId, string? chatId, CancellationToken cancellationToken) =>
        store.ListAsync(userId, chatId, int.MaxValue, null, cancellationToken);

    /// <summary>A page of the user's (or the chat's) books by name, after the one <paramref name="pageToken"/> names (INVALID_ARGUMENT for a token not of this listing).</summary>
    public async Task<Page<Lorebook>> ListPageAsync(string userId, string? chatId, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        (string Name, string LorebookId)? after = null;
        if (pageToken.Length > 0)
        {
            after = PageToken.TryReadLorebookList(pageToken, userId, chatId, out var cursor)
                ? cursor
                : throw new ChatException(ChatErrorKind.InvalidArgument, "page_token is not a token from a previous ListLorebooks call of this user with this chat_id", "page_token");
        }

        var rows = await store.ListAsync(userId, chatId, pageSize + 1, after, cancellationToken);
        return Page<Lorebook>.FromRows(rows, pageSize, b => PageToken.ForLorebookList(userId, chatId, (b.Name, b.Id)));
    }

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
