using Google.Rpc;
using Grpc.Core;

namespace Spanner.Client.Internal;

/// <summary>Turns gRPC failures into <see cref="SpannerException"/>s (or cancellation), keeping the status code.</summary>
internal static class RpcErrors
{
    private const string StatusDetailsTrailer = "grpc-status-details-bin";

    // Spanner also sends RetryInfo on its own under this key, which is where the official clients read it.
    private const string RetryInfoTrailer = "google.rpc.retryinfo-bin";

    public static Exception Translate(RpcException exception, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested &&
            exception.StatusCode is Grpc.Core.StatusCode.Cancelled or Grpc.Core.StatusCode.DeadlineExceeded)
        {
            return new OperationCanceledException("The operation was canceled.", exception, cancellationToken);
        }

        return new SpannerException(exception.StatusCode, exception.Status.Detail, exception, GetRetryDelay(exception.Trailers));
    }

    /// <summary>The google.rpc.RetryInfo delay from the trailers (its own trailer, else the rich status), if any.</summary>
    public static TimeSpan? GetRetryDelay(Metadata? trailers)
    {
        if (trailers is null)
        {
            return null;
        }

        try
        {
            if (trailers.GetValueBytes(RetryInfoTrailer) is { } retryInfoBytes &&
                RetryInfo.Parser.ParseFrom(retryInfoBytes).RetryDelay is { } own)
            {
                return own.ToTimeSpan();
            }

            if (trailers.GetValueBytes(StatusDetailsTrailer) is { } statusBytes)
            {
                foreach (var detail in Google.Rpc.Status.Parser.ParseFrom(statusBytes).Details)
                {
                    if (detail.TryUnpack<RetryInfo>(out var retryInfo) && retryInfo.RetryDelay is not null)
                    {
                        return retryInfo.RetryDelay.ToTimeSpan();
                    }
                }
            }
        }
        catch (Exception ex) when (ex is Google.Protobuf.InvalidProtocolBufferException or InvalidOperationException or ArgumentException)
        {
            // A malformed trailer or a duration that is not normalized is not worth failing the call
            // over; fall back to backoff.
        }

        return null;
    }
}
