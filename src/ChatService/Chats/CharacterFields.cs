namespace ChatService.Chats;

/// <summary>The fields of a character its author sets: what an update may replace.</summary>
[Flags]
public enum CharacterFields
{
    None = 0,
    DisplayName = 1 << 0,
    Persona = 1 << 1,
    Greeting = 1 << 2,
    ModelRoute = 1 << 3,
    Visibility = 1 << 4,
    Description = 1 << 5,
    Personality = 1 << 6,
    Scenario = 1 << 7,
    ExampleDialogues = 1 << 8,
    SystemPrompt = 1 << 9,
    PostHistoryInstructions = 1 << 10,
    AlternateGreetings = 1 << 11,
    CreatorNotes = 1 << 12,
    Tags = 1 << 13,
    AvatarUrl = 1 << 14,
    Creator = 1 << 15,
    CharacterVersion = 1 << 16,
    Talkativeness = 1 << 17,

    /// <summary>Every field an author sets (CreateCharacter's, and an update without a mask).</summary>
    All = (1 << 18) - 1,
}
