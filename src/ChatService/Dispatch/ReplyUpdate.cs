using ChatService.Chats;

namespace ChatService.Dispatch;

public enum ReplyUpdateKind
{
    /// <summary>The reply is recorded and owed.</summary>
    Accepted,

    /// <summary>A backend started generating it.</summary>
    Started,

    /// <summary>The next piece of text.</summary>
    Delta,

    /// <summary>Stored as complete.</summary>
    Completed,

    /// <summary>Ended without completing (failed, cancelled or interrupted).</summary>
    Failed,
}

/// <summary>
/// One event of a reply's log. <see cref="Sequence"/> is per reply, strictly increasing from 1, so
/// a subscriber can resume after any event it has seen.
/// </summary>
public sealed record ReplyUpdate(
    long Sequence,
    ReplyUpdateKind Kind,
    ChatTurn? Turn = null,
    string? Text = null,
    string? CharacterId = null,
    string? FailureCode = null,
    string? FailureReason = null)
{
    public bool IsFinal => Kind is ReplyUpdateKind.Completed or ReplyUpdateKind.Failed;
}
