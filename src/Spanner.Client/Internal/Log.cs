using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Spanner.Client.Internal;

/// <summary>The client's log messages, with stable event ids.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Created {Count} Spanner session(s); the pool now holds {Total}.")]
    public static partial void SessionsCreated(ILogger logger, int count, int total);

    [LoggerMessage(2, LogLevel.Information, "Spanner session {Session} is gone on the server ({Reason}); replacing it.")]
    public static partial void SessionDiscarded(ILogger logger, string session, string reason);

    [LoggerMessage(3, LogLevel.Debug, "Spanner transaction attempt {Attempt} was aborted; retrying in {Delay}. {Detail}")]
    public static partial void TransactionAborted(ILogger logger, int attempt, TimeSpan delay, string detail);

    [LoggerMessage(4, LogLevel.Warning, "Spanner transaction gave up after {Attempts} aborted attempts (timeout {Timeout}).")]
    public static partial void TransactionGaveUp(ILogger logger, int attempts, TimeSpan timeout);

    [LoggerMessage(5, LogLevel.Debug, "Best-effort rollback failed.")]
    public static partial void RollbackFailed(ILogger logger, Exception exception);

    [LoggerMessage(6, LogLevel.Warning, "Keep-alive query on Spanner session {Session} failed.")]
    public static partial void KeepAliveFailed(ILogger logger, string session, Exception exception);

    [LoggerMessage(7, LogLevel.Debug, "Deleting Spanner session {Session} failed.")]
    public static partial void SessionDeleteFailed(ILogger logger, string session, Exception exception);

    [LoggerMessage(8, LogLevel.Debug, "Spanner {Method} failed with {Code}; retry {Attempt} in {Delay}.")]
    public static partial void TransientRetry(ILogger logger, string method, StatusCode code, int attempt, TimeSpan delay);

    [LoggerMessage(9, LogLevel.Debug, "Spanner query retried before its first row: {Reason}.")]
    public static partial void QueryRetried(ILogger logger, string reason);

    [LoggerMessage(10, LogLevel.Debug, "Waiting for Spanner operation {Operation}.")]
    public static partial void WaitingForOperation(ILogger logger, string operation);

    [LoggerMessage(11, LogLevel.Information, "Created Spanner {Kind} {Name}.")]
    public static partial void Created(ILogger logger, string kind, string name);

    [LoggerMessage(12, LogLevel.Warning, "Could not get an access token for Cloud Spanner; the call fails with {Code}.")]
    public static partial void AccessTokenFailed(ILogger logger, StatusCode code, Exception exception);
}
