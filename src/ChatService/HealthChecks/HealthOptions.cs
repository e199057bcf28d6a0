using System.ComponentModel.DataAnnotations;

namespace ChatService.HealthChecks;

/// <summary>How often the health checks run. Bound from the <c>Health</c> configuration section.</summary>
public sealed class HealthOptions
{
    public const string Section = "Health";

    /// <summary>
    /// How often every health check (Spanner, Redis, ...) runs. <c>/healthz/ready</c> and the gRPC
    /// health service answer from the last run, so a probe or a <c>Check</c> call costs Spanner and
    /// Redis nothing, and readiness follows a change within about one period. The first run happens
    /// as soon as the service has started. A check that has not answered within a period counts as
    /// failed (Unhealthy, or Degraded for Redis). Between 100 ms and 1 day. Default: 5 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true)]
    public TimeSpan Period { get; set; } = TimeSpan.FromSeconds(5);
}
