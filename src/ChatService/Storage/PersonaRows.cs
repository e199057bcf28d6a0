using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>The queries of personas, and their mapping to the domain.</summary>
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

    public static UserPersona ReadPersona(SpannerRow row) => new(
        Id: row.Get<string>("PersonaId"),
        UserId: row.Get<string>("UserId"),
        Name: row.Get<string>("Name"),
        Description: row.Get<string>("Description"),
        IsDefault: row.Get<bool>("IsDefault"),
        CharacterIds: row.Get<List<string>?>("CharacterIds") ?? [],
        CreateTime: row.Get<DateTimeOffset>("CreateTime"),
        UpdateTime: row.Get<DateTimeOffset>("UpdateTime"));
}
