namespace ChatService.Chats;

/// <summary>
/// One candidate reply ("swipe") of a character turn, as ListCandidates shows it: its own text, state
/// and creation time, whether it is the turn's primary candidate, and the chat owner's rating of it.
/// </summary>
public sealed record TurnCandidate(
    string CandidateId,
    string Text,
    ReplyState State,
    string? FailureReason,
    DateTimeOffset CreateTime,
    bool IsPrimary,
    TurnRating? Rating,
    bool Edited)
{
    /// <summary>The moderation category of a filtered candidate; null otherwise.</summary>
    public string? FilterCategory { get; init; }
}
