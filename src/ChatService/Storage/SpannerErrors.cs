using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>Turns the Spanner client's errors into the domain's <see cref="StorageException"/>, keeping its classification.</summary>
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
