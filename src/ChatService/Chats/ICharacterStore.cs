namespace ChatService.Chats;

/// <summary>Durable storage of characters.</summary>
public interface ICharacterStore
{
    /// <summary>Stores a new character (version 1); <paramref name="cardImage"/> is the PNG a card came in, kept for its export. Returns it with its creation time.</summary>
    Task<Character> InsertAsync(Character character, byte[]? cardImage, CancellationToken cancellationToken);

    /// <summary>The characters with these ids that exist, in any order (missing ids are left out).</summary>
    Task<IReadOnlyList<Character>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> of the user's own characters, newest first, after the given cursor.</summary>
    Task<IReadOnlyList<Character>> ListOwnedAsync(
        string ownerUserId, (DateTimeOffset CreateTime, string CharacterId)? after, int limit, CancellationToken cancellationToken);

    /// <summary>The picture a card was imported in (its CardImage); null when there is none or no such character.</summary>
    Task<byte[]?> ReadCardImageAsync(string characterId, CancellationToken cancellationToken);
}
