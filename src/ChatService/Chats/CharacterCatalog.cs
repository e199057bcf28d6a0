using Microsoft.Extensions.Options;

namespace ChatService.Chats;

/// <summary>
/// Characters: creation with defaults, updates and deletion by their owner, lookups that respect
/// visibility, and the listings (own, public catalog, search).
/// </summary>
public sealed class CharacterCatalog(ICharacterStore store, IDefinitionChanges changes, IOptions<ChatOptions> options)
{
    private ChatOptions Options => options.Value;

    public Task<Character> CreateAsync(string userId, NewCharacter request, CancellationToken cancellationToken)
    {
        var blank = new Character(Ids.New(), userId, "", "", null, Options.DefaultModelRoute, CharacterVisibility.Private, default);
        var character = request.ApplyTo(blank, CharacterFields.All, Options.DefaultModelRoute);
        CharacterLimits.CheckDefinition(character, Options.MaxDefinitionChars);
        return store.InsertAsync(character, card: null, cancellationToken);
    }

    /// <summary>
    /// Replaces the fields the update names, as the next version. Only the owner may: another user's
    /// character is NOT_FOUND, or PERMISSION_DENIED when it is public or unlisted (they can see it, so
    /// saying it does not exist would be a lie). A deleted character is FAILED_PRECONDITION, an edit of
    /// a version that is no longer current ABORTED. The definition as it would be stored is checked
    /// whole (nothing is written when it is refused), and by <paramref name="check"/> when given
    /// (in the update's transaction, on the character as it would be stored; it throws to refuse it).
    /// </summary>
    public Task<Character> UpdateAsync(string userId, CharacterUpdate update, CancellationToken cancellationToken, Action<Character>? check = null) =>
        Changing(update.CharacterId, () => store.UpdateAsync(update.CharacterId, current =>
        {
            var owned = Owned(userId, update.CharacterId, current, "changed");
            if (update.ExpectedVersion is { } expected && expected != owned.Version)
            {
                throw new ChatException(ChatErrorKind.Aborted,
                    $"character {update.CharacterId} is at version {owned.Version}, not {expected}: it changed since it was read; read it again and reapply the change");
            }

            var changed = update.Values.ApplyTo(owned, update.Fields, Options.DefaultModelRoute);
            CharacterLimits.CheckDefinition(changed, Options.MaxDefinitionChars, "character.", update.Fields);
            check?.Invoke(changed);
            return changed;
        }, cancellationToken));

    /// <summary>
    /// Deletes the user's character (softly: chats with it stay readable and their replies keep its
    /// last version); deleting it again changes nothing. Another user's is NOT_FOUND or PERMISSION_DENIED, as for updates.
    /// </summary>
    public Task DeleteAsync(string userId, string characterId, CancellationToken cancellationToken) =>
        Changing(characterId, () => store.DeleteAsync(characterId, current => Owned(userId, characterId, current, "deleted", allowDeleted: true), cancellationToken));

    /// <summary>
    /// Runs a write of the character, then tells <see cref="IDefinitionChanges"/> unless it was refused (an
    /// error can follow a commit), so no replica keeps generating replies with the version it replaced.
    /// </summary>
    private Task<T> Changing<T>(string characterId, Func<Task<T>> write) =>
        DefinitionWrites.RunAsync(write, () => changes.CharacterChangedAsync(characterId));

    /// <summary>
    /// The character, if it exists and the user may see it; NOT_FOUND otherwise. A deleted character
    /// is still returned (with its delete time) to whoever could see it, so chats with it stay readable.
    /// </summary>
    public async Task<Character> GetAsync(string userId, string characterId, CancellationToken cancellationToken)
    {
        var character = (await store.GetManyAsync([characterId], cancellationToken)).FirstOrDefault();
        return character is not null && character.IsVisibleTo(userId) ? character : throw ChatException.CharacterNotFound(characterId);
    }

    /// <summary>
    /// The characters a new chat of the user's may have, in the order given: NOT_FOUND naming the first
    /// one the user can't see or that is deleted.
    /// </summary>
    public async Task<IReadOnlyList<Character>> GetAllAsync(string userId, IReadOnlyList<string> characterIds, CancellationToken cancellationToken)
    {
        var found = (await store.GetManyAsync(characterIds, cancellationToken)).ToDictionary(c => c.Id);
        return characterIds
            .Select(id => found.TryGetValue(id, out var c) && c.IsVisibleTo(userId) && !c.IsDeleted ? c : throw ChatException.CharacterNotFound(id))
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

    /// <summary>The user's own character, or the refusal another user gets (see <see cref="UpdateAsync"/>).</summary>
    private static Character Owned(string userId, string characterId, Character? current, string doing, bool allowDeleted = false)
    {
        if (current is null || !current.IsVisibleTo(userId))
        {
            throw ChatException.CharacterNotFound(characterId);
        }

        if (current.OwnerUserId != userId)
        {
            throw new ChatException(ChatErrorKind.PermissionDenied, $"character {characterId} belongs to another user; only its creator can have it {doing}");
        }

        if (current.IsDeleted && !allowDeleted)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition, $"character {characterId} is deleted; a deleted character cannot be {doing}");
        }

        return current;
    }
}
