namespace ChatService.Chats;

/// <summary>What an UpdateLorebook replaces (the fields its mask names).</summary>
[Flags]
public enum LorebookFields
{
    None = 0,
    Name = 1,
    Description = 2,
    ScanDepth = 4,
    TokenBudget = 8,
    Entries = 16,
    CharacterId = 32,
    All = Name | Description | ScanDepth | TokenBudget | Entries | CharacterId,
}

/// <summary>An UpdateLorebook: the new values of <see cref="Fields"/>, against <see cref="ExpectedVersion"/> when given.</summary>
public sealed record LorebookUpdate(string LorebookId, Lorebook Values, LorebookFields Fields, long? ExpectedVersion);

/// <summary>
/// Durable storage of lorebooks and of which chats use which books. Every method is on behalf of one
/// user: another user's book (or chat) is indistinguishable from a missing one. Writes that name a
/// character or a chat check, in the same transaction, that the user owns it.
/// </summary>
public interface ILorebookStore
{
    /// <summary>
    /// Stores a new book: FAILED_PRECONDITION when its owner has <see cref="LoreLimits.MaxBooksPerUser"/>
    /// already or its character has a book; NOT_FOUND for a character the owner does not own (or deleted).
    /// </summary>
    Task<Lorebook> CreateAsync(Lorebook book, CancellationToken cancellationToken);

    Task<Lorebook?> GetAsync(string userId, string lorebookId, CancellationToken cancellationToken);

    /// <summary>
    /// The user's books by name, without their entries (GetAsync has them: a user's books whole can be megabytes);
    /// with <paramref name="chatId"/>, only those the chat uses (NOT_FOUND for no such chat of the user's); at most
    /// <paramref name="limit"/>, after <paramref name="after"/> in (name, id) order when it is given.
    /// </summary>
    Task<IReadOnlyList<Lorebook>> ListAsync(string userId, string? chatId, int limit, (string Name, string LorebookId)? after, CancellationToken cancellationToken);

    /// <summary>Replaces the fields the update names, one version more; ABORTED when the expected version is not current.</summary>
    Task<Lorebook> UpdateAsync(string userId, LorebookUpdate update, CancellationToken cancellationToken);

    /// <summary>Deletes the book and detaches it from every chat; false when the user has no such book.</summary>
    Task<bool> DeleteAsync(string userId, string lorebookId, CancellationToken cancellationToken);

    /// <summary>The chat uses the book (idempotent); returns the ids of the books the chat uses.</summary>
    Task<IReadOnlyList<string>> AttachAsync(string userId, string chatId, string lorebookId, CancellationToken cancellationToken);

    /// <summary>The chat stops using the book (idempotent); returns the ids of the books the chat uses.</summary>
    Task<IReadOnlyList<string>> DetachAsync(string userId, string chatId, string lorebookId, CancellationToken cancellationToken);
}
