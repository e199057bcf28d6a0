using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>The queries of personas that more than one store reads, and their mapping to the domain.</summary>
internal static class PersonaRows
{
    /// <summary>A persona with its characters (the overrides that name it, one range of PersonaOverridesByPersona), as ReadPersona maps it.</summary>
    public const string PersonaSelect =
        """
        SELECT p.PersonaId, p.UserId, p.Name, p.Description, p.IsDefault, p.CreateTime, p.UpdateTime,
               ARRAY(SELECT o.CharacterId FROM PersonaOverrides@{FORCE_INDEX=PersonaOverridesByPersona} o
                     WHERE o.UserId = p.UserId AND o.PersonaId = p.PersonaId ORDER BY o.CharacterId) AS CharacterIds
        FROM Personas p
        """;

    /// <summary>
    /// The persona a reply's user speaks to its speaker as, in the columns of a reply's definition rows
    /// (Kind, Id, Version, DeleteTime, Name, Description, IsDefault, Rank): the chat's pinned persona (rank 1), the
    /// user's override for the speaker (2) and the default (3), whichever of them exist; the lowest rank
    /// wins. Parameters: @userId, @chatId, @speakerId. All of the rows it reads are in the user's ranges
    /// and the chat's row; the chat's persona and the override are looked up once (<c>w</c>), not per persona.
    /// </summary>
    public const string SpeakingAsSelect =
        """
        SELECT 'persona' AS Kind, p.PersonaId AS Id, CAST(NULL AS INT64) AS Version, CAST(NULL AS TIMESTAMP) AS DeleteTime,
               p.Name, p.Description, p.IsDefault,
               CASE WHEN p.PersonaId = w.Pinned THEN 1 WHEN p.PersonaId = w.Override THEN 2 ELSE 3 END AS Rank
        FROM (SELECT (SELECT ch.PersonaId FROM Chats ch WHERE ch.ChatId = @chatId) AS Pinned,
                     (SELECT o.PersonaId FROM PersonaOverrides o WHERE o.UserId = @userId AND o.CharacterId = @speakerId) AS Override) w
        JOIN Personas p ON p.UserId = @userId AND (p.IsDefault OR p.PersonaId = w.Pinned OR p.PersonaId = w.Override)
        """;

    public static UserPersona ReadPersona(SpannerRow row) => new(
        Id: row.Get<string>("PersonaId"),
        UserId: row.Get<string>("UserId"),
        Name: row.Get<string>("Name"),
        Description: row.Get<string>("Description"),
        IsDefault: row.Get<bool>("IsDefault"),
        CharacterIds: row.Get<List<string>?>("CharacterIds") ?? [],
        CreateTime: row.Get<DateTimeOffset>("CreateTime"),
        UpdateTime: row.Get<DateTimeOffset>("UpdateTime"));

    /// <summary>
    /// The winning persona among rows of <see cref="SpeakingAsSelect"/> (others, of another Kind, are
    /// skipped). It is read for its name and description only: its user is <paramref name="userId"/>,
    /// and its characters and times are left out.
    /// </summary>
    public static UserPersona? SpeakingAs(string userId, IEnumerable<SpannerRow> rows) => rows
        .Where(r => r.Get<string>("Kind") == "persona")
        .OrderBy(r => r.Get<long>("Rank"))
        .Select(r => new UserPersona(r.Get<string>("Id"), userId, r.Get<string>("Name"), r.Get<string>("Description"), r.Get<bool>("IsDefault"), [], default, default))
        .FirstOrDefault();

    /// <summary>The persona <paramref name="userId"/> speaks to <paramref name="speakerId"/> as in <paramref name="chatId"/>, straight from <paramref name="reader"/> (e.g. a snapshot).</summary>
    public static async Task<UserPersona?> ReadSpeakingAsAsync(ISpannerReader reader, string userId, string chatId, string speakerId, CancellationToken cancellationToken) =>
        SpeakingAs(userId, await reader.QueryListAsync(
            new SpannerStatement(SpeakingAsSelect).Add("userId", userId).Add("chatId", chatId).Add("speakerId", speakerId),
            cancellationToken));
}
