using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ChatService.HealthChecks;

/// <summary>The health poller's instruments. Recording never throws.</summary>
internal static class HealthMetrics
{
    public const string MeterName = "ChatService.Health";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Runs = Meter.CreateCounter<long>(
        "chat.health.runs", description: "Runs of the health checks (each check once), by the readiness they found.");

    public static void Ran(HealthStatus readiness) => Runs.Add(1, new KeyValuePair<string, object?>("readiness", readiness.ToString()));
}
