namespace ChatService.Chats;

/// <summary>
/// The stable name of each <see cref="ReplyFailureCode"/>: what clients read in
/// <c>ReplyEvent.Failed.code</c> and what traces carry as <c>error.type</c>. Clients match on these
/// strings, so they never change; a new code gets a new name here.
/// </summary>
public static class ReplyFailureCodes
{
    /// <summary>
    /// Whether a reply that ended with <paramref name="code"/> was withheld by moderation (flagged, or unchecked
    /// under fail-closed): none of its text may be shown or kept. The one definition settling, streaming and
    /// replaying use.
    /// </summary>
    public static bool Withholds(ReplyFailureCode? code) => code is ReplyFailureCode.Filtered or ReplyFailureCode.ModerationUnavailable;

    /// <summary>Whether a reply in <paramref name="state"/> with <paramref name="code"/> was withheld (<see cref="Withholds"/>; a filtered state always was).</summary>
    public static bool IsWithheld(ReplyState state, ReplyFailureCode? code) => state == ReplyState.Filtered || Withholds(code);

    /// <summary>The name of <paramref name="code"/>; a failure without a code is plain <c>FAILED</c>.</summary>
    public static string Name(ReplyFailureCode? code) => code switch
    {
        ReplyFailureCode.BackendUnavailable => "BACKEND_UNAVAILABLE",
        ReplyFailureCode.Interrupted => "INTERRUPTED",
        ReplyFailureCode.UnknownRoute => "UNKNOWN_ROUTE",
        ReplyFailureCode.Cancelled => "CANCELLED",
        ReplyFailureCode.RecoveryExhausted => "RECOVERY_EXHAUSTED",
        ReplyFailureCode.NotFound => "NOT_FOUND",
        ReplyFailureCode.Filtered => "FILTERED",
        ReplyFailureCode.ModerationUnavailable => "MODERATION_UNAVAILABLE",
        // An unknown value is a bug elsewhere; the client still gets a code it knows rather than a broken event.
        _ => "FAILED",
    };
}
