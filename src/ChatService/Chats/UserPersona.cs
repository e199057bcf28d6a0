namespace ChatService.Chats;

/// <summary>
/// Who a user is in a chat: the name characters call them (<c>{{user}}</c>) and what the characters
/// should know of them. <see cref="CharacterIds"/> are the characters it overrides the default
/// persona for (each character in at most one of the user's personas).
/// </summary>
public sealed record UserPersona(
    string Id,
    string UserId,
    string Name,
    string Description,
    bool IsDefault,
    IReadOnlyList<string> CharacterIds,
    DateTimeOffset CreateTime,
    DateTimeOffset UpdateTime);

/// <summary>The fields of a persona its user sets: what an update may replace.</summary>
[Flags]
public enum PersonaFields
{
    None = 0,
    Name = 1 << 0,
    Description = 1 << 1,
    IsDefault = 1 << 2,
    CharacterIds = 1 << 3,

    /// <summary>Every field (CreatePersona's, and an update without a mask).</summary>
    All = Name | Description | IsDefault | CharacterIds,
}

/// <summary>A persona's values as the user sends them (CreatePersona, or the new values of an UpdatePersona), each checked on its own.</summary>
public sealed record NewPersona(string Name, string Description, bool IsDefault, IReadOnlyList<string> CharacterIds);

/// <summary>An UpdatePersona: the new values of <paramref name="Fields"/>.</summary>
public sealed record PersonaUpdate(string PersonaId, NewPersona Values, PersonaFields Fields);
