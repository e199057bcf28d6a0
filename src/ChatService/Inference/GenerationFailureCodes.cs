namespace ChatService.Inference;

/// <summary>Values of <see cref="GenerationFinished.FailureCode"/>.</summary>
public static class GenerationFailureCodes
{
    /// <summary>Every attempt failed before its first token: no text was produced.</summary>
    public const string BackendUnavailable = "BACKEND_UNAVAILABLE";

    /// <summary>The backend failed after streaming some text; the caller keeps the partial text.</summary>
    public const string Interrupted = "INTERRUPTED";

    /// <summary>The request named a route that is not configured.</summary>
    public const string UnknownRoute = "UNKNOWN_ROUTE";

    /// <summary>The caller cancelled; any text already streamed is the caller's to keep.</summary>
    public const string Cancelled = "CANCELLED";
}
