namespace ChatService.Chats;

/// <summary>
/// Durable storage of users' personas and their per-character overrides. Every method is on behalf
/// of one user: another user's persona is indistinguishable from a missing one. Writes that take
/// characters check, in the same transaction, that the user can see each of them.
/// </summary>
public interface IPersonaStore
{
    /// <summary>
    /// Stores a new persona of <paramref name="userId"/>'s: refused (FAILED_PRECONDITION) when the user
    /// has <paramref name="maxPerUser"/> already; as default, the previous default stops being one; its
    /// characters move to it from any other persona of the user's. Returns it as stored.
    /// </summary>
    Task<UserPersona> CreateAsync(string userId, NewPersona persona, int maxPerUser, CancellationToken cancellationToken);

    /// <summary>The user's personas, the default first, then by name, each with its characters.</summary>
    Task<IReadOnlyList<UserPersona>> ListAsync(string userId, CancellationToken cancellationToken);

    /// <summary>The user's persona with this id, or null.</summary>
    Task<UserPersona?> GetAsync(string userId, string personaId, CancellationToken cancellationToken);

    /// <summary>Replaces the fields the update names, in one transaction with the same rules as <see cref="CreateAsync"/>; NOT_FOUND for no such persona of the user's.</summary>
    Task<UserPersona> UpdateAsync(string userId, PersonaUpdate update, CancellationToken cancellationToken);

    /// <summary>Deletes the persona and its overrides; false when the user has no such persona.</summary>
    Task<bool> DeleteAsync(string userId, string personaId, CancellationToken cancellationToken);

    /// <summary>
    /// For each of <paramref name="characterIds"/>, the persona the user speaks to it as when nothing
    /// pins one: the user's override for that character, else the default persona; characters with
    /// neither are left out. One read.
    /// </summary>
    Task<IReadOnlyDictionary<string, UserPersona>> ForCharactersAsync(string userId, IReadOnlyList<string> characterIds, CancellationToken cancellationToken);
}
