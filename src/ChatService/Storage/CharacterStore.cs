using ChatService.Chats;
using Microsoft.Extensions.Caching.Memory;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// Characters in Spanner. They never change once created, so the ones read are kept in process
/// memory: a warm chat's prompt and cast cost no read.
/// </summary>
internal sealed class CharacterStore(SpannerGateway spanner, IMemoryCache memory) : ICharacterStore
{
    // CardExtras and CardImage are left out: only a card export reads them (ReadCardAsync), and a
    // character cached with them would hold up to 1 MiB of card JSON and 8 MiB of picture.
    private const string CharacterColumns =
        "CharacterId, OwnerUserId, DisplayName, Persona, Greeting, ModelRoute, Visibility, CreateTime, " +
        "Description, Personality, Scenario, ExampleDialogues, SystemPrompt, PostHistoryInstructions, AlternateGreetings, " +
        "CreatorNotes, Tags, AvatarUrl, Creator, CharacterVersion, CardSpec, Version, UpdateTime, DeleteTime";

    private static readonly MemoryCacheEntryOptions Entry = new() { Size = 1, SlidingExpiration = TimeSpan.FromHours(1) };

    public async Task<Character> InsertAsync(Character character, StoredCard? card, CancellationToken cancellationToken)
    {
        var insert = SetDefinition(SpannerMutation.Insert("Characters"), character)
            .Set("CharacterId", character.Id)
            .Set("OwnerUserId", character.OwnerUserId)
            .Set("CardSpec", character.CardSpec is { } spec ? (long)spec : null)
            .Set("CardExtras", card?.Outline)
            .Set("CardImage", card?.Picture)
            .Set("Version", 1L)
            .Set("CreateTime", SpannerCommitTimestamp.Value);
        var committed = await spanner.WriteAsync([insert], cancellationToken);
        return character with { CreateTime = committed, Version = 1 };
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
        .Set("CharacterVersion", NullIfEmpty(character.CharacterVersion));

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;

    public async Task<IReadOnlyList<Character>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        var found = new List<Character>(ids.Count);
        var missing = new List<string>();
        foreach (var id in ids)
        {
            if (memory.TryGetValue(id, out Character? character))
            {
                found.Add(character!);
            }
            else
            {
                missing.Add(id);
            }
        }

        foreach (var character in await spanner.ReadAsync((reader, ct) => ReadAsync(reader, missing, ct), cancellationToken))
        {
            memory.Set(character.Id, character, Entry);
            found.Add(character);
        }

        return found;
    }

    /// <summary>
    /// One page of the user's own characters, newest first, from the CharactersByOwner index;
    /// <paramref name="after"/> is the last character of the previous page, and ties on CreateTime
    /// are broken by CharacterId (the index's own order, so the scan stops at the limit). The index
    /// stores no columns: the page's rows are read back from the table by key (see 0004_list_characters.sql).
    /// They are not put in the process cache: a listing is no sign that a character is about to speak.
    /// </summary>
    public async Task<IReadOnlyList<Character>> ListOwnedAsync(
        string ownerUserId, (DateTimeOffset CreateTime, string CharacterId)? after, int limit, CancellationToken cancellationToken)
    {
        var sql = $"SELECT {CharacterColumns} FROM Characters@{{FORCE_INDEX=CharactersByOwner}} WHERE OwnerUserId = @ownerUserId";
        if (after is not null)
        {
            sql += " AND (CreateTime < @afterTime OR (CreateTime = @afterTime AND CharacterId > @afterId))";
        }

        var statement = new SpannerStatement(sql + " ORDER BY CreateTime DESC, CharacterId LIMIT @limit")
            .Add("ownerUserId", ownerUserId)
            .Add("limit", (long)limit);
        if (after is { } cursor)
        {
            statement.Add("afterTime", cursor.CreateTime).Add("afterId", cursor.CharacterId);
        }

        var rows = await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(statement, ct), cancellationToken);
        return rows.Select(ReadCharacter).ToList();
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

    public async Task<StoredCard?> ReadCardAsync(string characterId, bool withPicture, CancellationToken cancellationToken)
    {
        var columns = withPicture ? "CardExtras, CardImage" : "CardExtras";
        var statement = new SpannerStatement($"SELECT {columns} FROM Characters WHERE CharacterId = @id").Add("id", characterId);
        var rows = await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(statement, ct), cancellationToken);
        return rows.Count == 0 || rows[0].Get<string?>("CardExtras") is not { } outline
            ? null
            : new StoredCard(outline, withPicture ? rows[0].Get<byte[]?>("CardImage") : null);
    }

    private static Character ReadCharacter(SpannerRow row) => new(
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
    };
}
