using ChatService.Chats;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// What Storage makes of the Spanner client's errors: the domain's <see cref="StorageException"/>
/// (keeping the client's classification), the server's delay, and whether Spanner could not be reached.
/// </summary>
internal static class SpannerErrors
{
    public static StorageException ToStorage(SpannerException exception) =>
        new(KindOf(exception.ErrorCode), exception.ErrorCode.ToString(), exception.Message, exception)
        {
            IsRetryable = exception.IsRetryable,
            RetryDelay = exception.RetryDelay,
        };

    /// <summary>
    /// The server's requested delay on a raw client error, for the loops inside Storage that call the
    /// client directly (schema migration) and so never see a <see cref="StorageException"/>.
    /// </summary>
    public static TimeSpan? ServerDelay(Exception failure) =>
        failure is SpannerException { RetryDelay: { } delay } && delay >= TimeSpan.Zero ? delay : null;

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

    /// <summary>
    /// Spanner's refusal of a commit for its mutations: INVALID_ARGUMENT saying "The transaction contains too
    /// many mutations" (their count), or that the transaction "exceeds the maximum total bytes-size" (their
    /// bytes). Nothing of the commit was written, and a smaller one may pass. Only those phrases: any other
    /// INVALID_ARGUMENT (a bad statement, a value too long for its column) is a bug of ours, not a commit to
    /// split. Read from the <see cref="StorageException"/> that <see cref="ToStorage"/> made (its code is the
    /// client's <see cref="SpannerErrorCode"/> name, its message the server's).
    /// </summary>
    public static bool IsTooManyMutations(StorageException exception) =>
        exception.Code == nameof(SpannerErrorCode.InvalidArgument)
        && (exception.Message.Contains("too many mutations", StringComparison.OrdinalIgnoreCase)
            || exception.Message.Contains("exceeds the maximum total bytes-size", StringComparison.OrdinalIgnoreCase));

    private static StorageErrorKind KindOf(SpannerErrorCode code) => code switch
    {
        // The statement or the credentials are wrong, not the store: our bug, never fixed by retrying.
        SpannerErrorCode.InvalidArgument or SpannerErrorCode.FailedPrecondition
            or SpannerErrorCode.PermissionDenied or SpannerErrorCode.Unauthenticated => StorageErrorKind.Rejected,
        SpannerErrorCode.DeadlineExceeded => StorageErrorKind.DeadlineExceeded,
        SpannerErrorCode.ResourceExhausted => StorageErrorKind.ResourceExhausted,
        _ => StorageErrorKind.Unavailable,
    };
}
