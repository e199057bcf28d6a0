namespace ChatService.Inference;

/// <summary>Log messages of the inference component (event ids 5001–5099).</summary>
internal static partial class InferenceLog
{
    [LoggerMessage(5001, LogLevel.Warning, "Attempt {Attempt} on backend {Backend} ({Model}) ended {Outcome} before its first token: {Error}")]
    public static partial void AttemptFailedBeforeFirstToken(ILogger logger, int attempt, string backend, string model, string outcome, string? error, Exception? exception);

    [LoggerMessage(5002, LogLevel.Warning, "Generation on route {Route} interrupted on backend {Backend} ({Model}) after its first token: {Outcome}: {Error}")]
    public static partial void GenerationInterrupted(ILogger logger, string route, string backend, string model, string outcome, string? error, Exception? exception);

    [LoggerMessage(5003, LogLevel.Warning, "No backend of route {Route} could generate after {Attempts} attempt(s): {Reason}")]
    public static partial void BackendsUnavailable(ILogger logger, string route, int attempts, string reason);

    [LoggerMessage(5004, LogLevel.Warning, "Generation asked for unknown route {Route}.")]
    public static partial void UnknownRoute(ILogger logger, string route);

    [LoggerMessage(5005, LogLevel.Debug, "Generation on route {Route} cancelled by the caller.")]
    public static partial void Cancelled(ILogger logger, string route);

    [LoggerMessage(5006, LogLevel.Error, "Generation on route {Route} failed unexpectedly.")]
    public static partial void UnexpectedFailure(ILogger logger, string route, Exception exception);

    [LoggerMessage(5007, LogLevel.Warning, "Disposing the stream of backend {Backend} failed.")]
    public static partial void StreamDisposeFailed(ILogger logger, string backend, Exception exception);

    [LoggerMessage(5008, LogLevel.Information, "Inference backends: {Backends}; routes: {Routes}.")]
    public static partial void Configured(ILogger logger, string backends, string routes);
}
