using ChatService.Chats;
using Microsoft.Extensions.Caching.Memory;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// Characters in Spanner. A character's definition changes only with its version (and its deletion
/// with its delete time), so the copies read are kept in process memory and served again only after
/// a read of those two columns shows them current: a few bytes per read instead of a definition of up
/// to 32,000 characters, and never a version another replica has replaced.
/// (Their chat count does change, folded by new chats: a cached character's <see cref="Character.ChatCount"/> is as
/// of its read; listings read it from Spanner.) Each write takes the character's catalog rows along
/// (<see cref="CatalogEntries"/>).
/// </summary>
internal sealed partial class CharacterStore(SpannerGateway spanner, IMemoryCache memory) : ICharacterStore
{
    // CardExtras and CardImage are left out: only a card export reads them (ReadCardAsync), and a
    // character cached with them would hold up to 1 MiB of card JSON and 8 MiB of picture.
    internal const string CharacterColumns =
        "CharacterId, OwnerUserId, DisplayName, Persona, Greeting, ModelRoute, Visibility, CreateTime, " +
        "Description, Personality, Scenario, ExampleDialogues, SystemPrompt, PostHistoryInstructions, AlternateGreetings, " +
        "CreatorNotes, Tags, AvatarUrl, Creator, CharacterVersion, CardSpec, Version, UpdateTime, DeleteTime, ChatCount, Talkativeness";

    /// <summary>How long a cached character not used is kept (its memory bound is the cache's, by bytes).</summary>
    private static readonly TimeSpan Unused = TimeSpan.FromHours(1);

    public Task<Character> InsertAsync(Character character, StoredCard? card, CancellationToken cancellationToken) =>
        InsertAsync(character, card, [], cancellationToken);

    public async Task<Character> InsertAsync(Character character, StoredCard card, Lorebook book, CancellationToken cancellationToken)
    {
        // The card's book is one of the user's books like any other: it counts toward LoreLimits.MaxBooksPerUser,
        // counted in the transaction that writes it (as CreateLorebook counts), so no import passes the bound.
        var mutations = InsertMutations(character, card, [LorebookRows.Insert(book with { CharacterId = character.Id, OwnerUserId = character.OwnerUserId })]);
        var (_, committed) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            await LorebookStore.CheckRoomAsync(tx, character.OwnerUserId, ct);
            foreach (var mutation in mutations)
            {
                tx.BufferWrite(mutation);
            }

            return true;
        }, cancellationToken);
        return character with { CreateTime = committed, Version = 1 };
    }

    private async Task<Character> InsertAsync(Character character, StoredCard? card, IReadOnlyList<SpannerMutation> more, CancellationToken cancellationToken)
    {
        var committed = await spanner.WriteAsync(InsertMutations(character, card, more), cancellationToken);
        return character with { CreateTime = committed, Version = 1 };
    }

    /// <summary>The character's row, its catalog rows and <paramref name="more"/>.</summary>
    private static List<SpannerMutation> InsertMutations(Character character, StoredCard? card, IReadOnlyList<SpannerMutation> more)
    {
        var insert = SetDefinition(SpannerMutation.Insert("Characters"), character)
            .Set("CharacterId", character.Id)
            .Set("OwnerUserId", character.OwnerUserId)
            .Set("CardSpec", character.CardSpec is { } spec ? (long)spec : null)
            .Set("CardExtras", card?.Outline)
            .Set("CardImage", card?.Picture)
            .Set("Version", 1L)
            .Set("ChatCount", 0L)
            .Set("CreateTime", SpannerCommitTimestamp.Value);
        CatalogEntries.Catalogued(insert);
        return [insert, .. CatalogEntries.Mutations(before: null, after: character), .. more];
    }

    /// <summary>The columns an author sets (CreateCharacter, UpdateCharacter, a card import): empty texts are stored as NULL.</summary>
    internal static SpannerMutation SetDefinition(SpannerMutation mutation, Character character) => mutation
        .Set("DisplayName", character.DisplayName)
        .Set("Persona", character.Persona)
        .Set("Greeting", character.Greeting)
        .Set("ModelRoute", character.ModelRoute)
        .Set("Visibility", (long)character.Visibility)
        .Set("Description", NullIfEmpty(character.Description))
        .Set("Personality", NullIfEmpty(character.Personality))
        .Set("Scenario", NullIfEmpty(character.Scenario))
        .Set("ExampleDialogues", NullIfEmpty(character.ExampleDialogues))
        .Set("SystemPrompt", NullIfEmpty(character.SystemPrompt))
        .Set("PostHistoryInstructions", NullIfEmpty(character.PostHistoryInstructions))
        .Set("AlternateGreetings", character.AlternateGreetings.Count == 0 ? null : character.AlternateGreetings.ToList())
        .Set("CreatorNotes", NullIfEmpty(character.CreatorNotes))
        .Set("Tags", character.Tags.Count == 0 ? null : character.Tags.ToList())
        .Set("AvatarUrl", NullIfEmpty(character.AvatarUrl))
        .Set("Creator", NullIfEmpty(character.Creator))
        .Set("CharacterVersion", NullIfEmpty(character.CharacterVersion))
        .Set("Talkativeness", character.Talkativeness);

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;

    /// <summary>
    /// The characters as stored now: one read of their versions, then the definitions of those this
    /// replica holds no current copy of (none, for characters that did not change since it read them).
    /// </summary>
    public async Task<IReadOnlyList<Character>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        var stamps = await spanner.ReadAsync((reader, ct) => ReadStampsAsync(reader, ids, ct), cancellationToken);
        return await CurrentAsync(stamps, cancellationToken);
    }

    /// <summary>
    /// The characters whose current <paramref name="stamps"/> were just read: the copies held here that
    /// match them, and the others read whole (and kept for next time). A character changed again
    /// between the two reads comes back at its newer version.
    /// </summary>
    internal async Task<IReadOnlyList<Character>> CurrentAsync(IReadOnlyCollection<CharacterStamp> stamps, CancellationToken cancellationToken)
    {
        var found = new List<Character>(stamps.Count);
        var stale = new List<string>();
        foreach (var stamp in stamps)
        {
            if (memory.TryGetValue(stamp.CharacterId, out Character? held) && stamp.Matches(held!))
            {
                found.Add(held!);
            }
            else
            {
                stale.Add(stamp.CharacterId);
            }
        }

        if (stale.Count > 0)
        {
            foreach (var character in await spanner.ReadAsync((reader, ct) => ReadAsync(reader, stale, ct), cancellationToken))
            {
                Remember(character);
                found.Add(character);
            }
        }

        return found;
    }

    /// <summary>
    /// Entries of a listing, from the catalog's index (CatalogEntries.ReadAsync), then their characters by
    /// key, both in one snapshot, so each character shown is as it was when its row placed it (its chat
    /// count matches the order). The caller's own characters newest first without a query are read from
    /// CharactersByOwner instead (<see cref="ListOwnedAsync"/>), as the release before the catalog read
    /// them: that listing is right whether or not the catalog rows of a character exist yet (a rollout,
    /// the backfill still running). The characters are not put in the process cache: a listing is no sign
    /// that one is about to speak.
    /// </summary>
    public Task<IReadOnlyList<CharacterListEntry>> ListAsync(
        string userId, CharacterList list, CharacterListCursor? after, int limit, CancellationToken cancellationToken) =>
        spanner.SnapshotAsync<IReadOnlyList<CharacterListEntry>>(async (reader, ct) =>
        {
            if (list == CharacterList.OwnNewest)
            {
                return await ListOwnedAsync(reader, userId, after, limit, ct);
            }

            var cursors = await CatalogEntries.ReadAsync(reader, userId, list, after, limit, ct);
            var characters = (await ReadAsync(reader, cursors.Select(c => c.CharacterId).ToList(), ct)).ToDictionary(c => c.Id);
            return [.. cursors.Select(c => new CharacterListEntry(c, characters.GetValueOrDefault(c.CharacterId)))];
        }, cancellationToken);

    /// <summary>
    /// A page of the owner's characters that are not deleted, newest first, from the CharactersByOwner index;
    /// ties on CreateTime are broken by CharacterId (the index's own order, so the scan stops at the limit,
    /// past the deleted characters it meets). The index stores no columns: the rows are read back by key.
    /// </summary>
    private static async Task<IReadOnlyList<CharacterListEntry>> ListOwnedAsync(
        ISpannerReader reader, string ownerUserId, CharacterListCursor? after, int limit, CancellationToken cancellationToken)
    {
        var sql = $"SELECT {CharacterColumns} FROM Characters@{{FORCE_INDEX=CharactersByOwner}} WHERE OwnerUserId = @ownerUserId AND DeleteTime IS NULL";
        if (after is not null)
        {
            sql += " AND (CreateTime < @afterTime OR (CreateTime = @afterTime AND CharacterId > @afterId))";
        }

        var statement = new SpannerStatement(sql + " ORDER BY CreateTime DESC, CharacterId LIMIT @limit")
            .Add("ownerUserId", ownerUserId)
            .Add("limit", (long)limit);
        if (after is { } cursor)
        {
            statement.Add("afterTime", new DateTimeOffset(cursor.SortKey, TimeSpan.Zero)).Add("afterId", cursor.CharacterId);
        }

        var rows = await reader.QueryListAsync(statement, cancellationToken);
        return [.. rows.Select(ReadCharacter).Select(c => new CharacterListEntry(new CharacterListCursor(c.CreateTime.UtcTicks, c.Id), c))];
    }

    /// <summary>The characters with these ids that exist, straight from <paramref name="reader"/> (e.g. a snapshot).</summary>
    public static async Task<IReadOnlyList<Character>> ReadAsync(ISpannerReader reader, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        var rows = await reader.QueryListAsync(
            new SpannerStatement($"SELECT {CharacterColumns} FROM Characters WHERE CharacterId IN UNNEST(@ids)")
                .Add("ids", SpannerType.ArrayOf(SpannerType.String), ids.ToList()),
            cancellationToken);
        return rows.Select(ReadCharacter).ToList();
    }

    /// <summary>
    /// NOT_FOUND naming the first of <paramref name="ids"/> that a new chat of <paramref name="userId"/>'s
    /// cannot start with (missing, deleted, or private and not the user's), read in the transaction that
    /// writes the chat: a DeleteCharacter or a change to private that commits first is seen, and one that
    /// comes later waits for it (it writes the cells read here). Reads only those three columns, so the
    /// chat-count folds, which write others, never wait for it.
    /// </summary>
    public static async Task CheckOpenToAsync(ISpannerReader reader, string userId, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var rows = await reader.QueryListAsync(
            new SpannerStatement("SELECT CharacterId, OwnerUserId, Visibility, DeleteTime FROM Characters WHERE CharacterId IN UNNEST(@ids)")
                .Add("ids", SpannerType.ArrayOf(SpannerType.String), ids.ToList()),
            cancellationToken);
        var open = rows
            .Where(r => r.IsNull("DeleteTime")
                && (r.Get<long>("Visibility") != (long)CharacterVisibility.Private || r.Get<string>("OwnerUserId") == userId))
            .Select(r => r.Get<string>("CharacterId"))
            .ToHashSet(StringComparer.Ordinal);
        if (ids.FirstOrDefault(id => !open.Contains(id)) is { } closed)
        {
            throw ChatException.CharacterNotFound(closed);
        }
    }

    public async Task<StoredCard?> ReadCardAsync(string characterId, bool withPicture, CancellationToken cancellationToken)
    {
        var columns = withPicture ? "CardExtras, CardImage" : "CardExtras";
        var statement = new SpannerStatement($"SELECT {columns} FROM Characters WHERE CharacterId = @id").Add("id", characterId);
        var rows = await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(statement, ct), cancellationToken);
        return rows.Count == 0 || rows[0].Get<string?>("CardExtras") is not { } outline
            ? null
            : new StoredCard(outline, withPicture ? rows[0].Get<byte[]?>("CardImage") : null);
    }

    /// <summary>Keeps <paramref name="character"/> as this replica's copy, unless it holds a newer one already (one read raced another).</summary>
    private void Remember(Character character)
    {
        var newerHeld = memory.TryGetValue(character.Id, out Character? held)
            && (held!.Version > character.Version || (held.Version == character.Version && held.IsDeleted && !character.IsDeleted));
        if (!newerHeld)
        {
            memory.Set(character.Id, character, new MemoryCacheEntryOptions { Size = DefinitionBytes.Of(character), SlidingExpiration = Unused });
        }
    }

    private static async Task<IReadOnlyList<CharacterStamp>> ReadStampsAsync(ISpannerReader reader, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        var rows = await reader.QueryListAsync(
            new SpannerStatement($"SELECT {CharacterStamp.Columns} FROM Characters WHERE CharacterId IN UNNEST(@ids)")
                .Add("ids", SpannerType.ArrayOf(SpannerType.String), ids.ToList()),
            cancellationToken);
        return rows.Select(CharacterStamp.Read).ToList();
    }

    internal static Character ReadCharacter(SpannerRow row) => new(
        Id: row.Get<string>("CharacterId"),
        OwnerUserId: row.Get<string>("OwnerUserId"),
        DisplayName: row.Get<string>("DisplayName"),
        Persona: row.Get<string>("Persona"),
        Greeting: row.Get<string?>("Greeting"),
        ModelRoute: row.Get<string>("ModelRoute"),
        Visibility: (CharacterVisibility)row.Get<long>("Visibility"),
        CreateTime: row.Get<DateTimeOffset>("CreateTime"))
    {
        Description = row.Get<string?>("Description") ?? "",
        Personality = row.Get<string?>("Personality") ?? "",
        Scenario = row.Get<string?>("Scenario") ?? "",
        ExampleDialogues = row.Get<string?>("ExampleDialogues") ?? "",
        SystemPrompt = row.Get<string?>("SystemPrompt") ?? "",
        PostHistoryInstructions = row.Get<string?>("PostHistoryInstructions") ?? "",
        AlternateGreetings = row.Get<List<string>?>("AlternateGreetings") ?? [],
        CreatorNotes = row.Get<string?>("CreatorNotes") ?? "",
        Tags = row.Get<List<string>?>("Tags") ?? [],
        AvatarUrl = row.Get<string?>("AvatarUrl") ?? "",
        Creator = row.Get<string?>("Creator") ?? "",
        CharacterVersion = row.Get<string?>("CharacterVersion") ?? "",
        CardSpec = row.Get<long?>("CardSpec") is { } spec ? (int)spec : null,
        Version = row.Get<long?>("Version") ?? 1,
        UpdateTime = row.Get<DateTimeOffset?>("UpdateTime"),
        DeleteTime = row.Get<DateTimeOffset?>("DeleteTime"),
        ChatCount = row.Get<long?>("ChatCount") ?? 0,
        Talkativeness = row.Get<double?>("Talkativeness") ?? Character.DefaultTalkativeness,
    };
}
