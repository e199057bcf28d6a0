namespace ChatService.Chats;

/// <summary>
/// Durable storage of characters. Characters change (UpdateCharacter, DeleteCharacter), so every
/// read returns the version current when it is made, however a store keeps copies.
/// </summary>
public interface ICharacterStore
{
    /// <summary>Stores a new character (version 1) with the card it was imported from (null when made otherwise). Returns it with its creation time.</summary>
    Task<Character> InsertAsync(Character character, StoredCard? card, CancellationToken cancellationToken);

    /// <summary>As <see cref="InsertAsync(Character, StoredCard?, CancellationToken)"/>, with the lorebook the card carried (its <c>character_book</c>), attached to the character, in the same commit.</summary>
    Task<Character> InsertAsync(Character character, StoredCard card, Lorebook book, CancellationToken cancellationToken);

    /// <summary>The characters with these ids that exist, at their current versions, in any order (missing ids are left out).</summary>
    Task<IReadOnlyList<Character>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> entries of the listing as <paramref name="userId"/> sees it, in its order,
    /// after the given cursor; read from the catalog's index ranges, never by scanning characters. An entry's
    /// character is as stored (the caller checks it against the listing) or null if it no longer exists.
    /// </summary>
    Task<IReadOnlyList<CharacterListEntry>> ListAsync(
        string userId, CharacterList list, CharacterListCursor? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The card a character was imported from, with its picture when <paramref name="withPicture"/>;
    /// null for a character made otherwise, or no such character.
    /// </summary>
    Task<StoredCard?> ReadCardAsync(string characterId, bool withPicture, CancellationToken cancellationToken);

    /// <summary>
    /// In one read-write transaction: reads the character (null when there is none), lets
    /// <paramref name="change"/> decide its new definition (or refuse with a <see cref="ChatException"/>,
    /// which writes nothing), and stores it as the next version with the commit time as its update time.
    /// Returns it as stored.
    /// </summary>
    Task<Character> UpdateAsync(string characterId, Func<Character?, Character> change, CancellationToken cancellationToken);

    /// <summary>
    /// In one read-write transaction: reads the character (null when there is none), lets
    /// <paramref name="check"/> refuse, and marks it deleted at the commit time unless it already is.
    /// Returns it as stored.
    /// </summary>
    Task<Character> DeleteAsync(string characterId, Action<Character?> check, CancellationToken cancellationToken);
}
