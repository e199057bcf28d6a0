using Microsoft.Extensions.Options;

namespace ChatService.Chats;

/// <summary>What a user asks for when creating a character.</summary>
public sealed record NewCharacter(string DisplayName, string Persona, string? Greeting, string? ModelRoute, CharacterVisibility? Visibility);

/// <summary>Characters: creation with defaults, lookups that respect visibility, and the user's own list.</summary>
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
            CreateTime: default), card: null, cancellationToken);

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

    /// <summary>A page of the user's own characters, newest first (public or private; never another user's).</summary>
    public async Task<Page<Character>> ListOwnedAsync(string userId, int pageSize, string? pageToken, CancellationToken cancellationToken)
    {
        (DateTimeOffset, string)? after = null;
        if (!string.IsNullOrEmpty(pageToken))
        {
            after = PageToken.TryReadCharacterList(pageToken, userId, out var cursor)
                ? cursor
                : throw new ChatException(ChatErrorKind.InvalidArgument, "page_token is not a token from a previous ListCharacters call of this user", "page_token");
        }

        var characters = await store.ListOwnedAsync(userId, after, pageSize + 1, cancellationToken);
        return Page<Character>.FromRows(characters, pageSize, last => PageToken.ForCharacterList(userId, last.CreateTime, last.Id));
    }
}
