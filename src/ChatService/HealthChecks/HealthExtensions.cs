using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace ChatService.HealthChecks;

/// <summary>
/// Liveness and readiness, over HTTP and the standard gRPC health service. Components register
/// their own checks tagged <see cref="ReadyTag"/> (Spanner: unhealthy fails readiness; Redis:
/// degraded at worst, which keeps the replica ready). The checks run once per
/// <see cref="HealthOptions.Period"/> (<see cref="HealthPoller"/>); readiness and the gRPC health
/// service answer the last run's result.
/// </summary>
public static class HealthExtensions
{
    /// <summary>Checks that decide whether the replica takes traffic.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Checks that decide whether the process should be restarted: only that it runs.</summary>
    public const string LiveTag = "live";

    /// <summary>The gRPC health service name that reports liveness (the empty name and the API's name report readiness).</summary>
    public const string LivenessService = "liveness";

    public static IHostApplicationBuilder AddServiceHealth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<HealthOptions>()
            .BindConfiguration(HealthOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddGrpcHealthChecks(options =>
        {
            // Check and Watch answer the statuses HealthPoller last published instead of running the checks.
            options.UseHealthChecksCache = true;
            // Degraded maps to SERVING and Unhealthy to NOT_SERVING, so Redis trouble never takes a replica out.
            options.Services.Map("", check => check.Tags.Contains(ReadyTag));
            options.Services.Map(Api.V1.ChatService.Descriptor.FullName, check => check.Tags.Contains(ReadyTag));
            options.Services.Map(LivenessService, check => check.Tags.Contains(LiveTag));
        })
        // Liveness depends on nothing outside the process: a dependency outage must not restart every replica.
        .AddCheck("process", () => HealthCheckResult.Healthy("the process is running"), tags: [LiveTag]);

        // HealthPoller runs the checks and publishes to the gRPC health service itself. Without an
        // IHealthCheckPublisher (AddGrpcHealthChecks registers one), ASP.NET Core's publisher service
        // stays idle instead of running every check again on a timer of its own, which cannot run
        // right after start and lets runs overlap.
        builder.Services.RemoveAll<IHealthCheckPublisher>();

        // A check that hangs would hold up every later run: after one period it fails with its
        // registration's failure status (Unhealthy; Degraded for Redis).
        builder.Services.AddOptions<HealthCheckServiceOptions>()
            .PostConfigure<IOptions<HealthOptions>>((checks, health) =>
            {
                foreach (var registration in checks.Registrations.Where(r => r.Timeout == Timeout.InfiniteTimeSpan))
                {
                    registration.Timeout = health.Value.Period;
                }
            });

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<HealthPoller>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HealthPoller>());
        return builder;
    }

    /// <summary>
    /// Maps the gRPC health service, <c>/healthz/live</c> (runs the liveness check, which touches
    /// nothing outside the process) and <c>/healthz/ready</c> (the last run's readiness checks);
    /// both answer JSON listing each check.
    /// </summary>
    public static WebApplication MapServiceHealth(this WebApplication app)
    {
        app.MapGrpcHealthChecksService();
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(LiveTag),
            ResponseWriter = HealthReportWriter.WriteAsync,
        });
        var poller = app.Services.GetRequiredService<HealthPoller>();
        app.Map("/healthz/ready", context => HealthReportWriter.WriteProbeAsync(context, poller.Readiness))
            .WithDisplayName("Readiness (last health check run)");
        return app;
    }
}
