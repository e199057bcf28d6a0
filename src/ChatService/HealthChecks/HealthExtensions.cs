using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ChatService.HealthChecks;

/// <summary>
/// Liveness and readiness, over HTTP and the standard gRPC health service. Components register
/// their own checks tagged <see cref="ReadyTag"/> (Spanner: unhealthy fails readiness; Redis:
/// degraded at worst, which keeps the replica ready).
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
        builder.Services.AddGrpcHealthChecks(options =>
        {
            // Degraded maps to SERVING and Unhealthy to NOT_SERVING, so Redis trouble never takes a replica out.
            options.Services.Map("", check => check.Tags.Contains(ReadyTag));
            options.Services.Map(Api.V1.ChatService.Descriptor.FullName, check => check.Tags.Contains(ReadyTag));
            options.Services.Map(LivenessService, check => check.Tags.Contains(LiveTag));
        })
        // Liveness depends on nothing outside the process: a dependency outage must not restart every replica.
        .AddCheck("process", () => HealthCheckResult.Healthy("the process is running"), tags: [LiveTag]);
        return builder;
    }

    /// <summary>Maps the gRPC health service and <c>/healthz/live</c>, <c>/healthz/ready</c> (JSON listing each check).</summary>
    public static WebApplication MapServiceHealth(this WebApplication app)
    {
        app.MapGrpcHealthChecksService();
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(LiveTag),
            ResponseWriter = HealthReportWriter.WriteAsync,
        });
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = HealthReportWriter.WriteAsync,
        });
        return app;
    }
}
