namespace ChatService.Chats;

/// <summary>
/// Why a reply ended without completing. One type for every layer: the model router, the reply
/// pipeline and storage pass it along as it is, and only the API (the wire) and storage (the
/// stored column) turn it into text, each in one place, so a code cannot be spelled two ways.
/// </summary>
public enum ReplyFailureCode
{
    /// <summary>Failed, with nothing more specific known: what storage says of any failed reply.</summary>
    Failed = 1,

    /// <summary>Every attempt failed before its first token: no text was produced.</summary>
    BackendUnavailable = 2,

    /// <summary>The backend failed after streaming some text; the reply keeps the partial text.</summary>
    Interrupted = 3,

    /// <summary>The character's model route is not configured.</summary>
    UnknownRoute = 4,

    /// <summary>The user cancelled; any text already streamed is kept.</summary>
    Cancelled = 5,

    /// <summary>Recovery took the reply over too many times; it is given up.</summary>
    RecoveryExhausted = 6,

    /// <summary>The reply no longer exists (its chat was deleted while it was being generated).</summary>
    NotFound = 7,

    /// <summary>Moderation flagged the reply: it is stored filtered, without its text.</summary>
    Filtered = 8,

    /// <summary>The moderator could not check the reply and the policy is fail-closed: it is stored failed, without its text.</summary>
    ModerationUnavailable = 9,
}
