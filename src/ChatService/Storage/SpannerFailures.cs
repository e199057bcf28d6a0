using Grpc.Core;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>Tells a Spanner that cannot be reached from other failures, and says why in a few words.</summary>
internal static class SpannerFailures
{
    /// <summary>
    /// True when Spanner could not be reached or did not answer in time (UNAVAILABLE,
    /// DEADLINE_EXCEEDED): connection refused, a name that does not resolve, a network or token
    /// outage. Trying again later is all there is to do, and a stack trace adds nothing to the reason.
    /// </summary>
    public static bool IsUnreachable(Exception exception) =>
        exception is SpannerException { ErrorCode: SpannerErrorCode.Unavailable or SpannerErrorCode.DeadlineExceeded };

    /// <summary>
    /// The status and the innermost cause, e.g. <c>Unavailable: Connection refused</c> (rather than
    /// the client's <c>Unavailable: Error connecting to subchannel.</c>).
    /// </summary>
    public static string Reason(SpannerException exception)
    {
        var cause = exception.GetBaseException() switch
        {
            RpcException rpc => rpc.Status.Detail,
            var innermost when innermost != exception => innermost.Message,
            _ => "",
        };
        return string.IsNullOrWhiteSpace(cause) ? exception.Message : $"{exception.ErrorCode}: {cause}";
    }
}
