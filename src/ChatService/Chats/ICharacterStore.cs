namespace ChatService.Chats;

/// <summary>Durable storage of characters.</summary>
public interface ICharacterStore
{
    /// <summary>Stores a new character (version 1) with the card it was imported from (null when made otherwise). Returns it with its creation time.</summary>
    Task<Character> InsertAsync(Character character, StoredCard? card, CancellationToken cancellationToken);

    /// <summary>The characters with these ids that exist, in any order (missing ids are left out).</summary>
    Task<IReadOnlyList<Character>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> of the user's own characters, newest first, after the given cursor.</summary>
    Task<IReadOnlyList<Character>> ListOwnedAsync(
        string ownerUserId, (DateTimeOffset CreateTime, string CharacterId)? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The card a character was imported from, with its picture when <paramref name="withPicture"/>;
    /// null for a character made otherwise, or no such character.
    /// </summary>
    Task<StoredCard?> ReadCardAsync(string characterId, bool withPicture, CancellationToken cancellationToken);
}
