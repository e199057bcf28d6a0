namespace ChatService.Inference;

/// <summary>One turn of the window a prompt is built from.</summary>
/// <param name="IsUser">True for the user's turns.</param>
/// <param name="CharacterId">The character that wrote the turn; null for the user's.</param>
/// <param name="Text">The turn's text.</param>
/// <param name="Seq">The turn's number in its chat (0 when unknown); tells pinned turns already among the recent ones apart.</param>
public sealed record PromptTurn(bool IsUser, string? CharacterId, string Text, long Seq = 0);
