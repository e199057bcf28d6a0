namespace ChatService.Chats;

/// <summary>Durable storage of characters.</summary>
public interface ICharacterStore
{
    /// <summary>Stores a new character (version 1); <paramref name="cardImage"/> is the PNG a card came in, kept for its export. Returns it with its creation time.</summary>
    Task<Character> InsertAsync(Character character, byte[]? cardImage, CancellationToken cancellationToken);

    /// <summary>The characters with these ids that exist, in any order (missing ids are left out).</summary>
    Task<IReadOnlyList<Character>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> entries of the listing as <paramref name="userId"/> sees it, in its order,
    /// after the given cursor; read from the catalog's index ranges, never by scanning characters. An entry's
    /// character is as stored (the caller checks it against the listing) or null if it no longer exists.
    /// </summary>
    Task<IReadOnlyList<CharacterListEntry>> ListAsync(
        string userId, CharacterList list, CharacterListCursor? after, int limit, CancellationToken cancellationToken);
}
