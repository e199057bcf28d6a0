using ChatService.Chats;

namespace ChatService.Storage;

/// <summary>
/// The failure codes as the <c>Candidates.FailureCode</c> column stores them. Rows written by
/// earlier versions hold these strings, so they never change, whatever the wire does.
/// </summary>
internal static class FailureCodeColumn
{
    private static readonly (ReplyFailureCode Code, string Stored)[] Codes =
    [
        (ReplyFailureCode.Failed, "FAILED"),
        (ReplyFailureCode.BackendUnavailable, "BACKEND_UNAVAILABLE"),
        (ReplyFailureCode.Interrupted, "INTERRUPTED"),
        (ReplyFailureCode.UnknownRoute, "UNKNOWN_ROUTE"),
        (ReplyFailureCode.Cancelled, "CANCELLED"),
        (ReplyFailureCode.RecoveryExhausted, "RECOVERY_EXHAUSTED"),
        (ReplyFailureCode.NotFound, "NOT_FOUND"),
    ];

    /// <summary>The column value of <paramref name="code"/>; null (no failure) stays null.</summary>
    public static string? ToColumn(ReplyFailureCode? code)
    {
        if (code is null)
        {
            return null;
        }

        foreach (var (known, stored) in Codes)
        {
            if (known == code)
            {
                return stored;
            }
        }

        return "FAILED";
    }

    /// <summary>The code a column value stands for; a value this version does not know reads as <see cref="ReplyFailureCode.Failed"/>.</summary>
    public static ReplyFailureCode? FromColumn(string? stored)
    {
        if (stored is null)
        {
            return null;
        }

        foreach (var (code, value) in Codes)
        {
            if (value == stored)
            {
                return code;
            }
        }

        return ReplyFailureCode.Failed;
    }
}
