using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

internal sealed partial class ChatRepository
{
    private const string CharacterColumns =
        "CharacterId, OwnerUserId, DisplayName, Persona, Greeting, ModelRoute, Visibility, CreateTime";

    public async Task<Character> InsertCharacterAsync(Character character, CancellationToken cancellationToken)
    {
        var committed = await database.WriteAsync(
            [SpannerMutation.Insert("Characters")
                .Set("CharacterId", character.Id)
                .Set("OwnerUserId", character.OwnerUserId)
                .Set("DisplayName", character.DisplayName)
                .Set("Persona", character.Persona)
                .Set("Greeting", character.Greeting)
                .Set("ModelRoute", character.ModelRoute)
                .Set("Visibility", (long)character.Visibility)
                .Set("CreateTime", SpannerCommitTimestamp.Value)],
            cancellationToken);
        return character with { CreateTime = committed };
    }

    /// <summary>The characters with these ids that exist (in any order; missing ids are left out).</summary>
    public Task<IReadOnlyList<Character>> GetCharactersAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        ReadCharactersAsync(database, ids, cancellationToken);

    public async Task<Character?> GetCharacterAsync(string id, CancellationToken cancellationToken) =>
        (await GetCharactersAsync([id], cancellationToken)).FirstOrDefault();

    private static async Task<IReadOnlyList<Character>> ReadCharactersAsync(
        ISpannerReader reader, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
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

    private static Character ReadCharacter(SpannerRow row) => new(
        Id: row.Get<string>("CharacterId"),
        OwnerUserId: row.Get<string>("OwnerUserId"),
        DisplayName: row.Get<string>("DisplayName"),
        Persona: row.Get<string>("Persona"),
        Greeting: row.Get<string?>("Greeting"),
        ModelRoute: row.Get<string>("ModelRoute"),
        Visibility: (CharacterVisibility)row.Get<long>("Visibility"),
        CreateTime: row.Get<DateTimeOffset>("CreateTime"));
}
