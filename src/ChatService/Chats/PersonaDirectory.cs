namespace ChatService.Chats;

/// <summary>
/// Users' personas: who the user is in a chat, by default or for particular characters. Every write
/// tells <see cref="IDefinitionChanges"/> once it is over unless it was refused (an error can follow a
/// commit), so no replica keeps using the user's personas as they were.
/// </summary>
public sealed class PersonaDirectory(IPersonaStore store, IDefinitionChanges changes)
{
    /// <summary>The most personas a user may have (ListPersonas returns them all).</summary>
    public const int MaxPersonasPerUser = 100;

    public Task<UserPersona> CreateAsync(string userId, NewPersona persona, CancellationToken cancellationToken) =>
        Changing(userId, () => store.CreateAsync(userId, persona, MaxPersonasPerUser, cancellationToken));

    public Task<IReadOnlyList<UserPersona>> ListAsync(string userId, CancellationToken cancellationToken) =>
        store.ListAsync(userId, cancellationToken);

    public Task<UserPersona> UpdateAsync(string userId, PersonaUpdate update, CancellationToken cancellationToken) =>
        Changing(userId, () => store.UpdateAsync(userId, update, cancellationToken));

    public async Task DeleteAsync(string userId, string personaId, CancellationToken cancellationToken)
    {
        if (!await Changing(userId, () => store.DeleteAsync(userId, personaId, cancellationToken)))
        {
            throw ChatException.PersonaNotFound(personaId);
        }
    }

    private Task<T> Changing<T>(string userId, Func<Task<T>> write) =>
        DefinitionWrites.RunAsync(write, () => changes.PersonasChangedAsync(userId));

    /// <summary>
    /// The persona a new chat speaks as to each of its characters (for <c>{{user}}</c> in the greetings
    /// it records): the pinned one for all of them when <paramref name="pinnedPersonaId"/> is given
    /// (NOT_FOUND unless it is one of the user's), else each character's override or the default.
    /// Characters with none are left out.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, UserPersona>> ForNewChatAsync(
        string userId, string? pinnedPersonaId, IReadOnlyList<string> characterIds, CancellationToken cancellationToken)
    {
        if (pinnedPersonaId is null)
        {
            return await store.ForCharactersAsync(userId, characterIds, cancellationToken);
        }

        var pinned = await store.GetAsync(userId, pinnedPersonaId, cancellationToken) ?? throw ChatException.PersonaNotFound(pinnedPersonaId);
        return characterIds.ToDictionary(id => id, _ => pinned);
    }
}
