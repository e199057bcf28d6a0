using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// The definitions a reply on a warm chat is generated from, in one single-use read: the cast's
/// versions (<see cref="CharacterStamp"/>) and the persona the user speaks as, as one statement.
/// Characters whose copy in this replica is current cost nothing more; a character changed since
/// (on any replica) is read again whole, a second read that only follows an update.
/// </summary>
internal sealed class ReplyDefinitionReader(SpannerGateway spanner, CharacterStore characters, LorebookStore lorebooks) : IReplyDefinitions
{
    private const string Sql =
        $"""
        SELECT 'character' AS Kind, CharacterId AS Id, IFNULL(Version, 1) AS Version, DeleteTime,
               CAST(NULL AS STRING) AS Name, CAST(NULL AS STRING) AS Description, CAST(NULL AS BOOL) AS IsDefault, 0 AS Rank
        FROM Characters WHERE CharacterId IN UNNEST(@castIds)
        UNION ALL
        {PersonaRows.SpeakingAsSelect}
        UNION ALL
        {LorebookRows.StampsSelect}
        """;

    public async Task<ReplyDefinitions> LoadAsync(
        string userId, string chatId, string speakerId, IReadOnlyCollection<string> castIds, CancellationToken cancellationToken)
    {
        var statement = new SpannerStatement(Sql)
            .Add("castIds", SpannerType.ArrayOf(SpannerType.String), castIds.ToList())
            .Add("userId", userId)
            .Add("chatId", chatId)
            .Add("speakerId", speakerId);
        var rows = await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(statement, ct), cancellationToken);
        var stamps = rows
            .Where(r => r.Get<string>("Kind") == "character")
            .Select(r => new CharacterStamp(r.Get<string>("Id"), r.Get<long>("Version"), r.Get<DateTimeOffset?>("DeleteTime")))
            .ToList();
        var cast = await characters.CurrentAsync(stamps, cancellationToken);
        var books = await lorebooks.CurrentAsync(
            rows.Where(r => r.Get<string>("Kind") == "lorebook").Select(r => (r.Get<string>("Id"), r.Get<long>("Version"))).ToList(), cancellationToken);
        return new ReplyDefinitions(cast.ToDictionary(c => c.Id), PersonaRows.SpeakingAs(userId, rows)) { Lorebooks = books };
    }
}
