using ChatService.Chats;

namespace ChatService.Api;

/// <summary>
/// The failure codes as clients read them in <c>ReplyEvent.Failed.code</c>. Clients match on
/// these strings, so they never change; a new code gets a new string here.
/// </summary>
internal static class FailureCodeWire
{
    /// <summary>The wire string of <paramref name="code"/>; a failure without a code is plain <c>FAILED</c>.</summary>
    public static string ToWire(ReplyFailureCode? code) => code switch
    {
        ReplyFailureCode.BackendUnavailable => "BACKEND_UNAVAILABLE",
        ReplyFailureCode.Interrupted => "INTERRUPTED",
        ReplyFailureCode.UnknownRoute => "UNKNOWN_ROUTE",
        ReplyFailureCode.Cancelled => "CANCELLED",
        ReplyFailureCode.RecoveryExhausted => "RECOVERY_EXHAUSTED",
        ReplyFailureCode.NotFound => "NOT_FOUND",
        // An unknown value is a bug elsewhere; the client still gets a code it knows rather than a broken event.
        _ => "FAILED",
    };
}
