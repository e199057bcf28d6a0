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
    public IReadOnlySet<string> CharacterIds => new HashSet<string> { Private.CharacterId, Quiet.CharacterId, Public.CharacterId };

    public SeededChat OneToOne => Chats[0];

    public SeededChat Group => Chats[1];
}
