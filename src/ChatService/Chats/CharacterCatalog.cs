using Microsoft.Extensions.Options;

namespace ChatService.Chats;

/// <summary>What a user asks for when creating a character.</summary>
public sealed record NewCharacter(string DisplayName, string Persona, string? Greeting, string? ModelRoute, CharacterVisibility? Visibility);

/// <summary>Characters: creation with defaults, lookups that respect visibility, and the listings (own, public catalog, search).</summary>
public sealed class CharacterCatalog(ICharacterStore store, IOptions<ChatOptions> options)
{
    public Task<Character> CreateAsync(string userId, NewCharacter request, CancellationToken cancellationToken) =>
        store.InsertAsync(new Character(
            Id: Ids.New(),
            OwnerUserId: userId,
            DisplayName: request.DisplayName,
            Persona: request.Persona,
            Greeting: string.IsNullOrEmpty(request.Greeting) ? null : request.Greeting,
            ModelRoute: string.IsNullOrEmpty(request.ModelRoute) ? options.Value.DefaultModelRoute : request.ModelRoute,
            Visibility: request.Visibility ?? CharacterVisibility.Private,
            CreateTime: default), cardImage: null, cancellationToken);

    /// <summary>The character, if it exists and the user may see it; NOT_FOUND otherwise.</summary>
    public async Task<Character> GetAsync(string userId, string characterId, CancellationToken cancellationToken)
    {
        var character = (await store.GetManyAsync([characterId], cancellationToken)).FirstOrDefault();
        return character is not null && character.IsVisibleTo(userId) ? character : throw ChatException.CharacterNotFound(characterId);
    }

    /// <summary>All of the characters, in the order given; NOT_FOUND naming the first one the user can't see.</summary>
    public async Task<IReadOnlyList<Character>> GetAllAsync(string userId, IReadOnlyList<string> characterIds, CancellationToken cancellationToken)
    {
        var found = (await store.GetManyAsync(characterIds, cancellationToken)).ToDictionary(c => c.Id);
        return characterIds
            .Select(id => found.TryGetValue(id, out var c) && c.IsVisibleTo(userId) ? c : throw ChatException.CharacterNotFound(id))
            .ToList();
    }

    /// <summary>
    /// A page of a character listing as the user sees it (<see cref="CharacterList"/>): their own characters or
    /// the public catalog, newest or most used first, all of them or those a query finds. The page token
    /// pages this user's listing with this order and query only.
    /// </summary>
    public async Task<Page<Character>> ListAsync(string userId, CharacterList list, int pageSize, string? pageToken, CancellationToken cancellationToken)
    {
        CharacterListCursor? after = null;
        if (!string.IsNullOrEmpty(pageToken))
        {
            after = PageToken.TryReadCharacterList(pageToken, userId, list, out var cursor)
                ? cursor
                : throw new ChatException(ChatErrorKind.InvalidArgument,
                    "page_token is not a token from a previous ListCharacters call of this user with the same listing, order and query", "page_token");
        }

        if (list.FindsNothing)
        {
            return new Page<Character>([], null);
        }

        // The page is cut from the catalog's rows; a row whose character the listing must not show (a
        // writer failed to remove it) is left out of the page, and the next page still starts after it.
        var entries = await store.ListAsync(userId, list, after, pageSize + 1, cancellationToken);
        var page = Page<CharacterListEntry>.FromRows(entries, pageSize, last => PageToken.ForCharacterList(userId, list, last.Cursor));
        return new Page<Character>(
            [.. page.Items.Select(e => e.Character).OfType<Character>().Where(c => list.Shows(c, userId))],
            page.NextPageToken);
    }
}
