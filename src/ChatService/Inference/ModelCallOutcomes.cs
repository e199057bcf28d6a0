namespace ChatService.Inference;

/// <summary>Values of <see cref="ModelCall.Outcome"/>.</summary>
public static class ModelCallOutcomes
{
    /// <summary>The backend streamed the whole reply.</summary>
    public const string Ok = "ok";

    /// <summary>The backend failed (an exception, an HTTP error, an empty reply).</summary>
    public const string Error = "error";

    /// <summary>No text arrived within the backend's first-token timeout.</summary>
    public const string FirstTokenTimeout = "first_token_timeout";

    /// <summary>The reply did not finish within the backend's total timeout.</summary>
    public const string Timeout = "timeout";

    /// <summary>The caller cancelled the generation.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>The backend's concurrency limit stayed full for its queue timeout; it was not called.</summary>
    public const string Rejected = "rejected";

    /// <summary>The output was withheld by moderation (set on the reply's last call when it settles filtered or withheld).</summary>
    public const string Filtered = "filtered";
}
