using Grpc.Core;

namespace Spanner.Client;

/// <summary>
/// A Spanner call failed. <see cref="Code"/> is the gRPC status code of the failure; the
/// <see cref="Exception.InnerException"/> is the original <see cref="RpcException"/> when there was one.
/// </summary>
public sealed class SpannerException : Exception
{
    internal SpannerException(StatusCode code, string message, Exception? innerException = null, TimeSpan? retryDelay = null)
        : base($"{code}: {message}", innerException)
    {
        Code = code;
        Detail = message;
        RetryDelay = retryDelay;
    }

    /// <summary>The gRPC status code, e.g. ABORTED, NOT_FOUND, ALREADY_EXISTS.</summary>
    public StatusCode Code { get; }

    /// <summary>
    /// True when the same operation may succeed if tried again: ABORTED (rerun the whole transaction),
    /// UNAVAILABLE and RESOURCE_EXHAUSTED (transient).
    /// </summary>
    public bool IsRetryable => Code is StatusCode.Aborted or StatusCode.Unavailable or StatusCode.ResourceExhausted;

    /// <summary>The delay the server asked for before retrying (google.rpc.RetryInfo), if it sent one.</summary>
    public TimeSpan? RetryDelay { get; }

    internal string Detail { get; }

    /// <summary>The session the call used was deleted or expired on the server.</summary>
    internal bool IsSessionNotFound =>
        Code == StatusCode.NotFound && Detail.Contains("Session not found", StringComparison.OrdinalIgnoreCase);
}
