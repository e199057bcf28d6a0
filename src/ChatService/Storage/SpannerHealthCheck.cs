using Microsoft.Extensions.Diagnostics.HealthChecks;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>Ready when the schema is applied and Spanner answers a trivial query.</summary>
internal sealed class SpannerHealthCheck(SchemaMigrator migrator, SpannerDatabaseClient database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!migrator.Ready.IsCompletedSuccessfully)
        {
            return HealthCheckResult.Unhealthy("schema migration has not completed");
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await database.QueryListAsync(new SpannerStatement("SELECT 1"), cancellationToken: timeout.Token);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is SpannerException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("Spanner is unreachable", ex);
        }
    }
}
