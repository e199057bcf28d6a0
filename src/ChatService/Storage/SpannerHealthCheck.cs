using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>Ready when the schema is applied and Spanner answers a trivial query on a pooled session.</summary>
internal sealed class SpannerHealthCheck(SchemaMigrator migrator, SpannerDatabaseClient database, IOptions<SpannerOptions> options) : IHealthCheck
{
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!migrator.Ready.IsCompletedSuccessfully)
        {
            return HealthCheckResult.Unhealthy(migrator.LastError is { } error
                ? $"the schema is not applied yet; last attempt: {error}"
                : "the schema migration has not completed yet");
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(QueryTimeout);
            // A SELECT 1 on a pooled session (or the pool's missing sessions created): proves the
            // database answers without counting as a read in the client's metrics.
            await database.WarmUpAsync(timeout.Token);
            return HealthCheckResult.Healthy("schema applied; a pooled session answered");
        }
        catch (SpannerException ex) when (SpannerErrors.IsUnreachable(ex))
        {
            // Logged by the health check service on every run while it lasts: the reason, no stack trace.
            return HealthCheckResult.Unhealthy($"Spanner at {options.Value.EndpointDescription} is unreachable ({SpannerErrors.Reason(ex)})");
        }
        catch (SpannerException ex)
        {
            return HealthCheckResult.Unhealthy($"Spanner failed the query ({ex.ErrorCode})", ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"Spanner at {options.Value.EndpointDescription} did not answer within {QueryTimeout.TotalSeconds:0} s");
        }
    }
}
