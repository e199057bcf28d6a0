namespace ChatService.Chats;

/// <summary>
/// A character's definition as its author sends it (CreateCharacter, or the new values of an
/// UpdateCharacter), each field already checked on its own. Empty texts mean "none"; a null route
/// or visibility, the default one.
/// </summary>
public sealed record NewCharacter(string DisplayName, string Persona, string? Greeting, string? ModelRoute, CharacterVisibility? Visibility)
{
    public string Description { get; init; } = "";

    public string Personality { get; init; } = "";

    public string Scenario { get; init; } = "";

    public string ExampleDialogues { get; init; } = "";

    public string SystemPrompt { get; init; } = "";

    public string PostHistoryInstructions { get; init; } = "";

    public IReadOnlyList<string> AlternateGreetings { get; init; } = [];

    public string CreatorNotes { get; init; } = "";

    public IReadOnlyList<string> Tags { get; init; } = [];

    public string AvatarUrl { get; init; } = "";

    public string Creator { get; init; } = "";

    public string CharacterVersion { get; init; } = "";

    /// <summary>0..1 (checked); <see cref="Character.DefaultTalkativeness"/> when the request left it unset.</summary>
    public double Talkativeness { get; init; } = Character.DefaultTalkativeness;

    /// <summary>
    /// <paramref name="current"/> with the <paramref name="fields"/> replaced by these values, as
    /// CreateCharacter would store them (an empty greeting is none, an empty route the default one,
    /// an unspecified visibility private).
    /// </summary>
    public Character ApplyTo(Character current, CharacterFields fields, string defaultModelRoute)
    {
        bool Has(CharacterFields field) => (fields & field) != 0;
        return current with
        {
            DisplayName = Has(CharacterFields.DisplayName) ? DisplayName : current.DisplayName,
            Persona = Has(CharacterFields.Persona) ? Persona : current.Persona,
            Greeting = Has(CharacterFields.Greeting) ? (string.IsNullOrEmpty(Greeting) ? null : Greeting) : current.Greeting,
            ModelRoute = Has(CharacterFields.ModelRoute) ? (string.IsNullOrEmpty(ModelRoute) ? defaultModelRoute : ModelRoute) : current.ModelRoute,
            Visibility = Has(CharacterFields.Visibility) ? Visibility ?? CharacterVisibility.Private : current.Visibility,
            Description = Has(CharacterFields.Description) ? Description : current.Description,
            Personality = Has(CharacterFields.Personality) ? Personality : current.Personality,
            Scenario = Has(CharacterFields.Scenario) ? Scenario : current.Scenario,
            ExampleDialogues = Has(CharacterFields.ExampleDialogues) ? ExampleDialogues : current.ExampleDialogues,
            SystemPrompt = Has(CharacterFields.SystemPrompt) ? SystemPrompt : current.SystemPrompt,
            PostHistoryInstructions = Has(CharacterFields.PostHistoryInstructions) ? PostHistoryInstructions : current.PostHistoryInstructions,
            AlternateGreetings = Has(CharacterFields.AlternateGreetings) ? AlternateGreetings : current.AlternateGreetings,
            CreatorNotes = Has(CharacterFields.CreatorNotes) ? CreatorNotes : current.CreatorNotes,
            Tags = Has(CharacterFields.Tags) ? Tags : current.Tags,
            AvatarUrl = Has(CharacterFields.AvatarUrl) ? AvatarUrl : current.AvatarUrl,
            Creator = Has(CharacterFields.Creator) ? Creator : current.Creator,
            CharacterVersion = Has(CharacterFields.CharacterVersion) ? CharacterVersion : current.CharacterVersion,
            Talkativeness = Has(CharacterFields.Talkativeness) ? Talkativeness : current.Talkativeness,
        };
    }
}

/// <summary>
/// An UpdateCharacter: the new values of <paramref name="Fields"/>, and the version the author
/// edited (null: whatever is current).
/// </summary>
public sealed record CharacterUpdate(string CharacterId, NewCharacter Values, CharacterFields Fields, long? ExpectedVersion);
