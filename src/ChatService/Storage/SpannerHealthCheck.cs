using Microsoft.Extensions.Diagnostics.HealthChecks;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>Ready when the schema is applied and Spanner answers a trivial query on a pooled session.</summary>
internal sealed class SpannerHealthCheck(SchemaMigrator migrator, SpannerDatabaseClient database) : IHealthCheck
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
        catch (Exception ex) when (ex is SpannerException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy(ex is SpannerException spanner ? $"Spanner is unreachable ({spanner.ErrorCode})" : "Spanner did not answer in time", ex);
        }
    }
}
