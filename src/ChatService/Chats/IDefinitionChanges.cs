namespace ChatService.Chats;

/// <summary>
/// Told after each commit that changes what a reply is generated from besides its turns: a character's
/// definition (an update, a deletion) or any of a user's personas (a create, update or delete, which may
/// change their default or an override). Replicas that keep copies of those definitions drop them.
/// </summary>
public interface IDefinitionChanges
{
    Task CharacterChangedAsync(string characterId);

    Task PersonasChangedAsync(string userId);
}

/// <summary>Without a shared cache every reply reads its definitions from storage: nothing to tell.</summary>
public sealed class NoDefinitionChanges : IDefinitionChanges
{
    public Task CharacterChangedAsync(string characterId) => Task.CompletedTask;

    public Task PersonasChangedAsync(string userId) => Task.CompletedTask;
}
