namespace ChatService.Limits;

internal static partial class LimitsLog
{
    // Debug: under abuse this fires for every refused call; the counter is the signal to watch.
    [LoggerMessage(6101, LogLevel.Debug, "Refused {Operation}: per-user limit {Limit}, retry after {RetryAfter}.")]
    public static partial void Refused(ILogger logger, string operation, string limit, TimeSpan retryAfter);
}
