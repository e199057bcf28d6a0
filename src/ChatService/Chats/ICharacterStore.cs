namespace ChatService.Chats;

/// <summary>Durable storage of characters. Characters never change once created.</summary>
public interface ICharacterStore
{
    /// <summary>Stores a new character; returns it with its creation time.</summary>
    Task<Character> InsertAsync(Character character, CancellationToken cancellationToken);

    /// <summary>The characters with these ids that exist, in any order (missing ids are left out).</summary>
    Task<IReadOnlyList<Character>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken);
}
