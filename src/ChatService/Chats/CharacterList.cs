namespace ChatService.Chats;

/// <summary>Whose characters a listing shows.</summary>
public enum CharacterListing
{
    /// <summary>The caller's own: private, unlisted and public.</summary>
    Own = 1,

    /// <summary>Every user's public characters.</summary>
    Public = 2,
}

/// <summary>The order of a character listing.</summary>
public enum CharacterOrder
{
    /// <summary>By creation time, newest first.</summary>
    Newest = 1,

    /// <summary>By the number of chats started with each, most first (<see cref="Character.ChatCount"/>).</summary>
    MostUsed = 2,
}

/// <summary>
/// One character listing: whose, in which order, and only the characters <paramref name="Query"/>
/// finds (<see cref="CharacterSearch"/>) when it is not null. Deleted characters are never listed.
/// </summary>
public sealed record CharacterList(CharacterListing Listing, CharacterOrder Order, string? Query)
{
    /// <summary>The caller's own characters, newest first: what ListCharacters lists by default.</summary>
    public static CharacterList OwnNewest { get; } = new(CharacterListing.Own, CharacterOrder.Newest, null);

    /// <summary>The term the listing reads: "" for all of it; empty too for a query that finds nothing (see <see cref="FindsNothing"/>).</summary>
    public string Term => Query is null ? "" : CharacterSearch.QueryTerm(Query);

    /// <summary>A query with no letter or digit in it: no character has such a term.</summary>
    public bool FindsNothing => Query is not null && Term.Length == 0;

    /// <summary>
    /// Whether the listing may show <paramref name="character"/> to <paramref name="userId"/>. The catalog's
    /// rows say so already; this is checked again on what is read, so a row a writer failed to remove
    /// can hide a character but never show one it should not.
    /// </summary>
    public bool Shows(Character character, string userId) =>
        !character.IsDeleted
        && (Listing == CharacterListing.Own ? character.OwnerUserId == userId : character.Visibility == CharacterVisibility.Public);
}

/// <summary>
/// Where a listing's page ends, in its order: <paramref name="SortKey"/> is the creation time in UTC ticks
/// (newest first) or the chat count (most used first); ties are broken by the character id, ascending.
/// </summary>
public readonly record struct CharacterListCursor(long SortKey, string CharacterId);

/// <summary>One row of a listing as read: the cursor it sits at, and the character (null when it no longer exists).</summary>
public sealed record CharacterListEntry(CharacterListCursor Cursor, Character? Character);
