namespace ChatService.Chats;

/// <summary>
/// Told after each commit that changes what a reply is generated from besides its turns: a character's
/// definition (an update, a deletion) or any of a user's personas (a create, update or delete, which may
/// change their default or an override), a lorebook (its entries, its character), or which lorebooks
/// a chat has. Replicas that keep copies of those definitions drop them.
/// </summary>
public interface IDefinitionChanges
{
    Task CharacterChangedAsync(string characterId);

    Task PersonasChangedAsync(string userId);

    /// <summary>The book changed or was deleted; <paramref name="characterId"/>: the character it belongs to (now), whose set of books it may have joined.</summary>
    Task LorebookChangedAsync(string lorebookId, string? characterId);

    /// <summary>A book was attached to the chat or detached from it.</summary>
    Task ChatLorebooksChangedAsync(string chatId);
}

/// <summary>How every definition write tells <see cref="IDefinitionChanges"/>.</summary>
public static class DefinitionWrites
{
    /// <summary>
    /// Runs <paramref name="write"/>, then <paramref name="changed"/> unless the write was refused with a
    /// <see cref="ChatException"/> (not found, not the owner, invalid: nothing was written). Any other
    /// failure may follow a commit (a storage error, a cancellation), so it is told then too.
    /// </summary>
    public static async Task<T> RunAsync<T>(Func<Task<T>> write, Func<Task> changed)
    {
        T result;
        try
        {
            result = await write();
        }
        catch (ChatException)
        {
            throw;
        }
        catch
        {
            await changed();
            throw;
        }

        await changed();
        return result;
    }
}

/// <summary>Without a shared cache every reply reads its definitions from storage: nothing to tell.</summary>
public sealed class NoDefinitionChanges : IDefinitionChanges
{
    public Task CharacterChangedAsync(string characterId) => Task.CompletedTask;

    public Task PersonasChangedAsync(string userId) => Task.CompletedTask;

    public Task LorebookChangedAsync(string lorebookId, string? characterId) => Task.CompletedTask;

    public Task ChatLorebooksChangedAsync(string chatId) => Task.CompletedTask;
}
