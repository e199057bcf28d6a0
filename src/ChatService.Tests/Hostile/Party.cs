using ChatService.Api.V1;

namespace ChatService.Tests.Hostile;

/// <summary>One user's legitimate data: the characters, chats and page tokens hostile requests aim at.</summary>
internal sealed class Party(string userId)
{
    public string UserId { get; } = userId;

    /// <summary>Private, with a greeting.</summary>
    public Character Private { get; set; } = null!;

    /// <summary>Private, without a greeting.</summary>
    public Character Quiet { get; set; } = null!;

    public Character Public { get; set; } = null!;

    /// <summary>Unlisted, imported from a V3 card in a PNG (so others may export it).</summary>
    public Character Card { get; set; } = null!;

    /// <summary>Unlisted: anyone with its id can see it and chat with it; never listed to another user.</summary>
    public Character Unlisted { get; set; } = null!;

    /// <summary>Private, deleted after a chat was made with it.</summary>
    public Character Gone { get; set; } = null!;

    /// <summary>The default persona, also the override for <see cref="Private"/>.</summary>
    public Persona Persona { get; set; } = null!;

    /// <summary>Another persona, for no character.</summary>
    public Persona AltPersona { get; set; } = null!;

    /// <summary>A lorebook of this user's, attached to <see cref="OneToOne"/>.</summary>
    public Lorebook Lorebook { get; set; } = null!;

    public IReadOnlySet<string> PersonaIds => new HashSet<string> { Persona.PersonaId, AltPersona.PersonaId };

    /// <summary>A one-to-one chat (with <see cref="Private"/>) and a group chat (with all three).</summary>
    public List<SeededChat> Chats { get; } = [];

    /// <summary>Chats that phase two may delete.</summary>
    public List<string> Doomed { get; } = [];

    /// <summary>Tokens of ListChats pages of one chat each.</summary>
    public List<string> ListTokens { get; } = [];

    /// <summary>Tokens of ListCharacters pages of one character each.</summary>
    public List<string> CharacterListTokens { get; } = [];

    /// <summary>Tokens of pages of one character each of the public catalog, most used first, as this user lists it.</summary>
    public List<string> CatalogTokens { get; } = [];

    /// <summary>The characters seeded for this user (another user must never see the private ones, nor list any).</summary>
    public IReadOnlySet<string> CharacterIds =>
        new HashSet<string> { Private.CharacterId, Quiet.CharacterId, Public.CharacterId, Unlisted.CharacterId, Gone.CharacterId, Card.CharacterId };

    public SeededChat OneToOne => Chats[0];

    public SeededChat Group => Chats[1];
}
