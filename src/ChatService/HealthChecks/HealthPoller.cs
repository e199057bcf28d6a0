using Grpc.AspNetCore.HealthChecks;
using Grpc.HealthCheck;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace ChatService.HealthChecks;

/// <summary>
/// Runs every registered health check once per <see cref="HealthOptions.Period"/> and publishes the
/// result: the statuses the gRPC health service answers (<c>Check</c> and <c>Watch</c>, per the
/// service mappings of <see cref="GrpcHealthChecksOptions"/>) and the report <c>/healthz/ready</c>
/// answers. A probe or a <c>Check</c> call is then a lookup, never a Spanner or Redis round trip.
/// </summary>
/// <remarks>
/// The first run happens once every hosted service has started (the schema migration's wait
/// included) and start waits for it, so readiness is known when start completes; before it, every
/// mapped gRPC service is NOT_SERVING and readiness answers 503. Runs never overlap: the next one
/// starts a period after the last one started, or at once if that one took longer.
/// </remarks>
internal sealed partial class HealthPoller(
    HealthCheckService checks,
    HealthServiceImpl grpcHealth,
    IOptions<GrpcHealthChecksOptions> grpcOptions,
    IOptions<HealthOptions> options,
    TimeProvider timeProvider,
    ILogger<HealthPoller> logger) : IHostedLifecycleService, IDisposable
{
    private static readonly HealthReport NotCheckedYet = new(new Dictionary<string, HealthReportEntry>(), HealthStatus.Unhealthy, TimeSpan.Zero);

    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;
    private Task _loop = Task.CompletedTask;
    private HealthReport _readiness = NotCheckedYet;
    private HealthStatus? _publishedReadiness;

    /// <summary>The last run's ready-tagged checks and their worst status (Unhealthy, with no checks, before the first run).</summary>
    public HealthReport Readiness => Volatile.Read(ref _readiness);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // A Check that arrives before the first run gets NOT_SERVING rather than NOT_FOUND.
        foreach (var mapping in grpcOptions.Value.Services)
        {
            grpcHealth.SetStatus(mapping.Name, ServingStatus.NotServing);
        }

        return Task.CompletedTask;
    }

    /// <summary>The first run, awaited, then one per period in the background.</summary>
    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        await RunOnceAsync(cancellationToken);
        _loop = RunPeriodicallyAsync(_stopping.Token);
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => CancelLoopAsync();

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await CancelLoopAsync();
        await _loop.WaitAsync(cancellationToken);
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Also ends the loop when the host never stopped this service.
            _stopping.Cancel();
            _stopping.Dispose();
        }
    }

    // A host may stop a service whose container it already disposed (seen with WebApplicationFactory
    // in tests); stopping must still succeed, and Dispose has cancelled the loop by then.
    private Task CancelLoopAsync() => Volatile.Read(ref _disposed) == 0 ? _stopping.CancelAsync() : Task.CompletedTask;

    /// <summary>Runs every check once and publishes what it found.</summary>
    internal async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        HealthReport report;
        try
        {
            report = await checks.CheckHealthAsync(cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The checks catch their own failures; this is the framework failing to run them.
            // Readiness must not keep an old "ready" while nothing is being checked.
            Log.RunFailed(logger, ex);
            report = new HealthReport(
                new Dictionary<string, HealthReportEntry>
                {
                    ["health"] = new(HealthStatus.Unhealthy, $"the health checks did not run: {ex.Message}", TimeSpan.Zero, exception: null, data: null, tags: [HealthExtensions.ReadyTag]),
                },
                TimeSpan.Zero);
        }

        Publish(report);
    }

    private async Task RunPeriodicallyAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(options.Value.Period, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                await RunOnceAsync(stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private void Publish(HealthReport report)
    {
        // As Grpc.AspNetCore.HealthChecks maps results: NOT_SERVING when a mapped check is Unhealthy
        // (Degraded serves). The mappings here are the HealthCheckPredicate kind (Services.Map).
        foreach (var mapping in grpcOptions.Value.Services)
        {
            var unhealthy = report.Entries.Any(entry => entry.Value.Status == HealthStatus.Unhealthy
                && (mapping.HealthCheckPredicate?.Invoke(new HealthCheckMapContext(entry.Key, entry.Value.Tags)) ?? true));
            grpcHealth.SetStatus(mapping.Name, unhealthy ? ServingStatus.NotServing : ServingStatus.Serving);
        }

        var readiness = new HealthReport(
            report.Entries.Where(entry => entry.Value.Tags.Contains(HealthExtensions.ReadyTag)).ToDictionary(),
            report.TotalDuration);
        Volatile.Write(ref _readiness, readiness);
        HealthMetrics.Ran(readiness.Status);
        if (readiness.Status != _publishedReadiness)
        {
            Log.ReadinessChanged(
                logger,
                readiness.Status == HealthStatus.Unhealthy ? LogLevel.Warning : LogLevel.Information,
                _publishedReadiness?.ToString() ?? "unknown",
                readiness.Status,
                Describe(readiness));
            _publishedReadiness = readiness.Status;
        }
    }

    /// <summary><c>spanner Healthy (schema applied; ...); redis Degraded (...)</c></summary>
    private static string Describe(HealthReport report) =>
        string.Join("; ", report.Entries.Select(entry => entry.Value.Description is { } description
            ? $"{entry.Key} {entry.Value.Status} ({description})"
            : $"{entry.Key} {entry.Value.Status}"));

    private static partial class Log
    {
        [LoggerMessage(EventId = 7001, Message = "Readiness changed from {Previous} to {Readiness}: {Checks}.")]
        public static partial void ReadinessChanged(ILogger logger, LogLevel level, string previous, HealthStatus readiness, string checks);

        [LoggerMessage(7002, LogLevel.Error, "The health checks did not run; readiness is Unhealthy until a run completes.")]
        public static partial void RunFailed(ILogger logger, Exception exception);
    }
}
