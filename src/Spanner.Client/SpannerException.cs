using Grpc.Core;

namespace Spanner.Client;

/// <summary>
/// A Spanner call failed. <see cref="ErrorCode"/> says what kind of failure it was and <see cref="IsRetryable"/>
/// whether trying again may succeed, so callers need not know gRPC; the <see cref="Exception.InnerException"/> is
/// the original <see cref="RpcException"/> when there was one.
/// </summary>
public sealed class SpannerException : Exception
{
    // gRPC reports a connection reset mid-call as INTERNAL; these are the texts the official clients (Java, Go,
    // Python, Node) treat as such, plus .NET's wording of an HTTP/2 RST_STREAM with INTERNAL_ERROR.
    private static readonly string[] ConnectionResetMarkers =
    [
        "RST_STREAM",
        "Received unexpected EOS on DATA frame from server",
        "HTTP/2 error code: INTERNAL_ERROR",
        "HTTP/2 error code 'INTERNAL_ERROR'",
        "Connection closed with unknown cause",
    ];

    internal SpannerException(StatusCode code, string message, Exception? innerException = null, TimeSpan? retryDelay = null)
        : base($"{code}: {message}", innerException)
    {
        StatusCode = code;
        Detail = message;
        RetryDelay = retryDelay;
    }

    /// <summary>What kind of failure this is, e.g. <see cref="SpannerErrorCode.NotFound"/> or <see cref="SpannerErrorCode.AlreadyExists"/>.</summary>
    public SpannerErrorCode ErrorCode => StatusCode == StatusCode.OK ? SpannerErrorCode.Unknown : (SpannerErrorCode)StatusCode;

    /// <summary>
    /// True when trying again may succeed, as the official Spanner clients judge it: ABORTED (rerun the whole
    /// transaction; <see cref="SpannerDatabaseClient.RunInTransactionAsync{T}"/> already did until its timeout),
    /// UNAVAILABLE, RESOURCE_EXHAUSTED when the server said how long to wait (<see cref="RetryDelay"/>), and INTERNAL
    /// when it is really a reset connection. Everything else, DEADLINE_EXCEEDED included, is not: retrying would
    /// fail the same way, or (for a deadline) may repeat work that took effect.
    /// </summary>
    public bool IsRetryable => ErrorCode == SpannerErrorCode.Aborted || IsTransient;

    /// <summary>The delay the server asked for before retrying (google.rpc.RetryInfo), if it sent one.</summary>
    public TimeSpan? RetryDelay { get; }

    /// <summary>The gRPC status, for the client's own metrics and traces.</summary>
    internal StatusCode StatusCode { get; }

    internal string Detail { get; }

    /// <summary>
    /// The call itself may simply be repeated (as opposed to ABORTED, which needs the whole transaction rerun);
    /// the client's own call and read retries go by this.
    /// </summary>
    internal bool IsTransient => ErrorCode switch
    {
        SpannerErrorCode.Unavailable => true,
        SpannerErrorCode.ResourceExhausted => RetryDelay > TimeSpan.Zero,
        SpannerErrorCode.Internal => ConnectionResetMarkers.Any(m => Detail.Contains(m, StringComparison.OrdinalIgnoreCase)),
        _ => false,
    };

    /// <summary>The session the call used was deleted or expired on the server.</summary>
    internal bool IsSessionNotFound =>
        ErrorCode == SpannerErrorCode.NotFound && Detail.Contains("Session not found", StringComparison.OrdinalIgnoreCase);
}
