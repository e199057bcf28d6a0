using ChatService.Chats;

namespace ChatService.Cards;

/// <summary>
/// A card as read: the fields a character holds (named as the card names them) and
/// <see cref="Kept"/>, the rest of the card as it came. Not yet checked against the bounds of a
/// character's fields.
/// </summary>
public sealed record CharacterCard(CardFormat Spec)
{
    public string Name { get; init; } = "";

    public string Description { get; init; } = "";

    public string Personality { get; init; } = "";

    public string Scenario { get; init; } = "";

    public string FirstMes { get; init; } = "";

    public string MesExample { get; init; } = "";

    public string CreatorNotes { get; init; } = "";

    public string SystemPrompt { get; init; } = "";

    public string PostHistoryInstructions { get; init; } = "";

    public IReadOnlyList<string> AlternateGreetings { get; init; } = [];

    public IReadOnlyList<string> Tags { get; init; } = [];

    public string Creator { get; init; } = "";

    public string CharacterVersion { get; init; } = "";

    /// <summary>SillyTavern's <c>data.extensions.talkativeness</c> (0..1); the default when the card has none.</summary>
    public double Talkativeness { get; init; } = Character.DefaultTalkativeness;

    /// <summary>The lorebook of the card's <c>character_book</c> (see <see cref="CardBook"/>), or null; stored attached to the new character.</summary>
    public Lorebook? Book { get; init; }

    /// <summary>The card's outline with everything the character does not hold (see <see cref="CardOutline"/>), stored as the character's <see cref="StoredCard"/>.</summary>
    public string Kept { get; init; } = "";

    /// <summary>
    /// A new character defined by this card (<see cref="Kept"/> is stored beside it). A card has no
    /// field for a persona (the author's own definition), so the persona stays empty and the card's
    /// description, personality and the rest define the character; a card with only a name makes a
    /// character too.
    /// </summary>
    public Character ToCharacter(string id, string ownerUserId, string modelRoute, CharacterVisibility visibility) => new(
        Id: id,
        OwnerUserId: ownerUserId,
        DisplayName: Name,
        Persona: "",
        Greeting: FirstMes.Length == 0 ? null : FirstMes,
        ModelRoute: modelRoute,
        Visibility: visibility,
        CreateTime: default)
    {
        Description = Description,
        Personality = Personality,
        Scenario = Scenario,
        ExampleDialogues = MesExample,
        SystemPrompt = SystemPrompt,
        PostHistoryInstructions = PostHistoryInstructions,
        AlternateGreetings = AlternateGreetings,
        CreatorNotes = CreatorNotes,
        Tags = Tags,
        Creator = Creator,
        CharacterVersion = CharacterVersion,
        Talkativeness = Talkativeness,
        CardSpec = (int)Spec,
    };
}
