namespace ChatService.Inference;

/// <summary>One turn of the window a prompt is built from.</summary>
/// <param name="IsUser">True for the user's turns.</param>
/// <param name="CharacterId">The character that wrote the turn; null for the user's.</param>
/// <param name="Text">The turn's text.</param>
public sealed record PromptTurn(bool IsUser, string? CharacterId, string Text);
