namespace ChatService.Inference;

/// <summary>
/// The texts of a prompt that come from the speaking character and the user's persona, as they are
/// stored: <c>{{char}}</c> and <c>{{user}}</c> are replaced when the prompt is built. Empty texts are
/// left out of the prompt. A character's creator notes are not here: they never reach a model.
/// </summary>
/// <param name="CharacterName">The speaking character's display name (<c>{{char}}</c>).</param>
/// <param name="UserName">The user persona's name (<c>{{user}}</c>), "User" without one.</param>
public sealed record CharacterPrompt(string CharacterName, string UserName)
{
    /// <summary>The service's system prompt, used when the character has none of its own.</summary>
    public string DefaultSystemPrompt { get; init; } = "";

    /// <summary>The character's own system prompt; its <c>{{original}}</c> becomes <see cref="DefaultSystemPrompt"/>.</summary>
    public string SystemPrompt { get; init; } = "";

    /// <summary>The character's definition in its author's words.</summary>
    public string Persona { get; init; } = "";

    public string Description { get; init; } = "";

    public string Personality { get; init; } = "";

    /// <summary>The user persona's description; null when the user has no persona (then nothing is said of the user).</summary>
    public string? UserDescription { get; init; }

    public string Scenario { get; init; } = "";

    /// <summary>Example exchanges, usually blocks that each begin with <c>&lt;START&gt;</c>.</summary>
    public string ExampleDialogues { get; init; } = "";

    /// <summary>Sent after the last turn, as the prompt's final system message; <c>{{original}}</c> in it becomes nothing.</summary>
    public string PostHistoryInstructions { get; init; } = "";
}
