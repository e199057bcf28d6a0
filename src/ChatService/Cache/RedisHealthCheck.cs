using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace ChatService.Cache;

/// <summary>
/// Whether the history cache can use Redis. Never unhealthy: without Redis every read goes to
/// Spanner (slower, bounded), so the replica stays ready and reports itself degraded.
/// </summary>
internal sealed class RedisHealthCheck(IConnectionMultiplexer redis, HistoryCache cache) : IHealthCheck
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(1);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!redis.IsConnected)
        {
            return HealthCheckResult.Degraded("Redis is unreachable; history is read from Spanner");
        }

        if (cache.IsBypassed)
        {
            return HealthCheckResult.Degraded("the cache's circuit breaker is open; history is read from Spanner");
        }

        try
        {
            var rtt = await redis.GetDatabase().PingAsync().WaitAsync(PingTimeout, cancellationToken);
            return HealthCheckResult.Healthy($"PING {rtt.TotalMilliseconds:F1} ms");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return HealthCheckResult.Degraded("Redis does not answer PING; history is read from Spanner", ex);
        }
    }
}
