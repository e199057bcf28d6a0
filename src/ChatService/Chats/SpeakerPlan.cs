namespace ChatService.Chats;

/// <summary>The characters that answer, in order, and the rotation cursor to store for the next turn.</summary>
public sealed record SpeakerPlan(IReadOnlyList<string> Speakers, long NextCursor);
