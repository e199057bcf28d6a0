using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Collects what the hosted service logs at Error or above: a hostile request that is answered
/// with a proper status but made the service log an error (or broke a background worker) still
/// counts as a failure.
/// </summary>
public sealed class ErrorLogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _entries = new();

    private int _loggers;

    public IReadOnlyCollection<string> Entries => _entries;

    /// <summary>True once the service's logging has asked for a logger, i.e. the collector is wired in.</summary>
    public bool IsAttached => Volatile.Read(ref _loggers) > 0;

    public ILogger CreateLogger(string categoryName)
    {
        Interlocked.Increment(ref _loggers);
        return new Collector(categoryName, _entries);
    }

    public void Dispose()
    {
    }

    private sealed class Collector(string category, ConcurrentQueue<string> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        /// <summary>
        /// A health check that found the emulator too slow to answer within its timeout (the whole test
        /// suite shares it, so under load it may be): the health report says so at Error. That is the
        /// machine's load, not the storm's doing; the suite checks readiness itself afterwards, and a
        /// health check that throws still counts.
        /// </summary>
        private bool IsSlowDependency(Exception? exception, string message) =>
            category == "Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService" && exception is null
            && message.Contains("did not answer within", StringComparison.Ordinal);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel) && !IsSlowDependency(exception, formatter(state, exception)))
            {
                entries.Enqueue($"{logLevel} {category}[{eventId.Id}]: {formatter(state, exception)}" +
                    (exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})"));
            }
        }
    }
}
