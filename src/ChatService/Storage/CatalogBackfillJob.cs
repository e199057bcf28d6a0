using ChatService.Chats;
using Microsoft.Extensions.Options;

namespace ChatService.Storage;

/// <summary>
/// Runs <see cref="CatalogBackfill"/> on every replica once the schema is applied, a round every
/// <see cref="ChatOptions.CatalogBackfillInterval"/> (the first one interval after start); readiness never waits for it.
/// </summary>
internal sealed partial class CatalogBackfillJob(
    CatalogBackfill backfill,
    SchemaMigrator migrator,
    IOptions<ChatOptions> options,
    TimeProvider timeProvider,
    ILogger<CatalogBackfillJob> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await migrator.Ready.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        // A round after each interval, the first too: replicas that start together (a rollout) do not all
        // read the pending index at once, and a start does not wait on it.
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.CatalogBackfillInterval, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await backfill.RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                Log.RoundFailed(logger, ex);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1114, LogLevel.Warning, "Catalog backfill round failed; retrying at the next interval.")]
        public static partial void RoundFailed(ILogger logger, Exception exception);
    }
}
