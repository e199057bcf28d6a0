using Microsoft.Extensions.Options;

namespace ChatService.Memory;

/// <summary>
/// Takes up summary jobs nobody finishes: claimed by a replica that died or shut down mid-job (its lease
/// ran out), or released after a failed call (its retry delay is over). Each replica sweeps; the claim
/// in Spanner lets one of them run a job at a time.
/// </summary>
internal sealed partial class SummarySweeper(
    Storage.SummaryJobStore store,
    SummaryScheduler scheduler,
    IOptions<SummaryOptions> options,
    TimeProvider timeProvider,
    ILogger<SummarySweeper> logger) : BackgroundService
{
    /// <summary>Most jobs queued by one sweep.</summary>
    private const int Batch = 50;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.SweepInterval, timeProvider, stoppingToken);
                await SweepOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.SweepFailed(logger, ex);
            }
        }
    }

    /// <summary>Queues the jobs whose lease or retry delay ran out. Returns how many were queued.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var expired = await store.ExpiredAsync(options.Value.MaxAttempts, Batch, cancellationToken);
        return expired.Count(job => scheduler.Enqueue(job.ChatId, job.ThroughSeq));
    }

    private static partial class Log
    {
        [LoggerMessage(3804, LogLevel.Warning, "Summary sweep failed; retrying at the next interval.")]
        public static partial void SweepFailed(ILogger logger, Exception exception);
    }
}
