using Google.Rpc;
using Grpc.Core;

namespace Spanner.Client.Internal;

/// <summary>Turns gRPC failures into <see cref="SpannerException"/>s (or cancellation), keeping the status code.</summary>
internal static class RpcErrors
{
    private const string StatusDetailsTrailer = "grpc-status-details-bin";

    public static Exception Translate(RpcException exception, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested &&
            exception.StatusCode is Grpc.Core.StatusCode.Cancelled or Grpc.Core.StatusCode.DeadlineExceeded)
        {
            return new OperationCanceledException("The operation was canceled.", exception, cancellationToken);
        }

        return new SpannerException(exception.StatusCode, exception.Status.Detail, exception, GetRetryDelay(exception.Trailers));
    }

    /// <summary>The google.rpc.RetryInfo delay carried in the rich status trailer, if any.</summary>
    public static TimeSpan? GetRetryDelay(Metadata? trailers)
    {
        var bytes = trailers?.GetValueBytes(StatusDetailsTrailer);
        if (bytes is null)
        {
            return null;
        }

        try
        {
            var status = Google.Rpc.Status.Parser.ParseFrom(bytes);
            foreach (var detail in status.Details)
            {
                if (detail.TryUnpack<RetryInfo>(out var retryInfo) && retryInfo.RetryDelay is not null)
                {
                    return retryInfo.RetryDelay.ToTimeSpan();
                }
            }
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            // A malformed trailer is not worth failing the call over; fall back to backoff.
        }

        return null;
    }
}
