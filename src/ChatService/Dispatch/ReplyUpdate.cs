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

    /// <summary>A new attempt starts generating it from the beginning; the text so far is dropped.</summary>
    Restarted,
}

/// <summary>
/// One event of a reply's log. <see cref="Sequence"/> is per reply, strictly increasing from 1, so
/// a subscriber can resume after any event it has seen. A Restarted event carries its
/// <see cref="Attempt"/> and its reason in <see cref="Text"/>.
/// </summary>
public sealed record ReplyUpdate(
    long Sequence,
    ReplyUpdateKind Kind,
    ChatTurn? Turn = null,
    string? Text = null,
    string? CharacterId = null,
    ReplyFailureCode? FailureCode = null,
    string? FailureReason = null,
    int Attempt = 0)
{
    public bool IsFinal => Kind is ReplyUpdateKind.Completed or ReplyUpdateKind.Failed;

    /// <summary>The final event of a reply moderation withheld (flagged, or unchecked under fail-closed): none of its text may be shown.</summary>
    public bool IsWithheld => Kind == ReplyUpdateKind.Failed && ReplyFailureCodes.Withholds(FailureCode);

    /// <summary>
    /// Where attempt <paramref name="attempt"/> (2 and up) numbers its Restarted event at the
    /// earliest: attempt × 2^32. The generating replica's own callers get each event before it
    /// reaches the shared log, so when that replica dies they may have seen events the log never
    /// got; a new attempt numbering on from the log would give different events those numbers, and
    /// such a caller, resuming after the last one it saw, would miss the restart.
    /// </summary>
    public static long AttemptStart(int attempt) => (long)attempt << 32;

    /// <summary>
    /// The final event of a settled reply as storage holds it: Completed, or Failed with CANCELLED,
    /// FILTERED, or the stored failure code (so a reply withheld under fail-closed replays as
    /// MODERATION_UNAVAILABLE, as it ended live); FAILED when none was stored (rows of older versions, cached turns).
    /// A candidate whose latest continuation was undone (<see cref="ChatTurn.UndoneContinuation"/>) ends Failed
    /// with that continuation's failure, as its stream did, whatever state the candidate went back to.
    /// </summary>
    public static ReplyUpdate FinalOf(ChatTurn settled, long sequence)
    {
        if (settled.UndoneContinuation is { } undone)
        {
            return new ReplyUpdate(sequence, ReplyUpdateKind.Failed, settled, FailureCode: undone.Code, FailureReason: undone.Reason);
        }

        return settled.State == ReplyState.Complete
            ? new ReplyUpdate(sequence, ReplyUpdateKind.Completed, settled)
            : new ReplyUpdate(sequence, ReplyUpdateKind.Failed, settled,
                FailureCode: settled.State switch
                {
                    ReplyState.Cancelled => ReplyFailureCode.Cancelled,
                    ReplyState.Filtered => ReplyFailureCode.Filtered,
                    _ => settled.FailureCode ?? ReplyFailureCode.Failed,
                },
                FailureReason: settled.FailureReason);
    }
}
