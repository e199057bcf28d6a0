using ChatService.Chats;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace ChatService.Api;

/// <summary>
/// Turns domain and storage failures into gRPC statuses, so services stay thin. Anything
/// unexpected is logged and becomes INTERNAL, which is always a bug.
/// </summary>
internal sealed partial class ErrorMappingInterceptor(TimeProvider timeProvider, ILogger<ErrorMappingInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (Map(ex, context) is { } mapped)
        {
            throw mapped;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (Map(ex, context) is { } mapped)
        {
            throw mapped;
        }
    }

    private RpcException? Map(Exception exception, ServerCallContext context) => exception switch
    {
        RpcException => null,
        ChatException { Kind: ChatErrorKind.InvalidArgument } chat => ApiErrors.InvalidArgument(chat.Field ?? "request", chat.Message),
        ChatException chat => ApiErrors.Retryable(chat.Kind switch
        {
            ChatErrorKind.NotFound => StatusCode.NotFound,
            ChatErrorKind.FailedPrecondition => StatusCode.FailedPrecondition,
            ChatErrorKind.ResourceExhausted => StatusCode.ResourceExhausted,
            ChatErrorKind.Unavailable => StatusCode.Unavailable,
            ChatErrorKind.PermissionDenied => StatusCode.PermissionDenied,
            ChatErrorKind.Aborted => StatusCode.Aborted,
            _ => StatusCode.InvalidArgument,
        }, chat.Message, chat.RetryAfter),
        // The caller's deadline passed, or it went away, while we worked or wrote to it (a write to
        // a reset stream fails with an IOException or InvalidOperationException).
        OperationCanceledException or InvalidOperationException or IOException when context.CancellationToken.IsCancellationRequested =>
            context.Deadline <= timeProvider.GetUtcNow().UtcDateTime
                ? new RpcException(new Status(StatusCode.DeadlineExceeded, "the call's deadline passed before it finished"))
                : new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled")),
        // An internal timeout, or the process shutting down under the call.
        OperationCanceledException or ObjectDisposedException =>
            new RpcException(new Status(StatusCode.Unavailable, "the service could not finish the call in time or is shutting down; retry")),
        // A statement the store rejects is our bug (the unexpected path); every other storage failure is the store being unavailable.
        StorageException { Kind: not StorageErrorKind.Rejected } storage => Storage(storage, context),
        _ => Unexpected(exception, context),
    };

    /// <summary>Transient storage trouble: the caller may retry (sends are idempotent on request_id).</summary>
    private RpcException Storage(StorageException exception, ServerCallContext context)
    {
        Log.StorageFailed(logger, context.Method, exception.Code, exception);
        var code = exception.Kind switch
        {
            StorageErrorKind.DeadlineExceeded => StatusCode.DeadlineExceeded,
            StorageErrorKind.ResourceExhausted => StatusCode.ResourceExhausted,
            _ => StatusCode.Unavailable,
        };
        return new RpcException(new Status(code, "the chat store is temporarily unavailable; retry the request"));
    }

    private RpcException Unexpected(Exception exception, ServerCallContext context)
    {
        Log.UnexpectedError(logger, context.Method, exception);
        return new RpcException(new Status(StatusCode.Internal, "internal error"));
    }

    private static partial class Log
    {
        [LoggerMessage(2001, LogLevel.Warning, "{Method} failed in storage with {Code}.")]
        public static partial void StorageFailed(ILogger logger, string method, string code, Exception exception);

        [LoggerMessage(2002, LogLevel.Error, "{Method} failed unexpectedly.")]
        public static partial void UnexpectedError(ILogger logger, string method, Exception exception);
    }
}
