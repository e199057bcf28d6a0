namespace ChatService.Portability;

/// <summary>
/// An imported file, checked: the chat's settings as the file had them (its characters as the file
/// named them, not yet those of the new chat) and its turns in order. <see cref="SkippedSystemMessages"/>:
/// SillyTavern system messages, which have no turn here.
/// </summary>
internal sealed record ParsedChat(ArchivedChat Chat, IReadOnlyList<ArchivedTurn> Turns, int SkippedSystemMessages);
