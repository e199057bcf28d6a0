using Microsoft.Extensions.Options;

namespace ChatService.Memory;

/// <summary>
/// Takes up summary jobs nobody finishes: leased by a replica that died mid-job (its lease in Redis
/// expired without being given back: found in Redis, no Spanner read), or recorded after a failed call
/// (its retry delay is over: one Spanner read per sweep, as before the leases moved to Redis). Each
/// replica sweeps; the lease lets one of them call the model at a time, and the store's conditional
/// commit keeps one summary per span.
/// </summary>
internal sealed partial class SummarySweeper(
    Storage.SummaryJobStore store,
    SummaryLeases leases,
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
        var abandoned = await leases.ExpiredAsync(Batch);
        var queued = 0;
        foreach (var (chatId, through) in abandoned)
        {
            if (scheduler.Enqueue(chatId, through))
            {
                queued++;
            }
            else
            {
                // Taken off the list but not queued (the queue is full, or the chat's job is queued or
                // running here already): listed again for the next sweep rather than dropped.
                await leases.RelistAsync(chatId, through, timeProvider.GetUtcNow() + options.Value.SweepInterval);
            }
        }

        var failed = await store.ExpiredAsync(options.Value.MaxAttempts, Batch, cancellationToken);
        return queued + failed.Count(job => scheduler.Enqueue(job.ChatId, job.ThroughSeq));
    }

    private static partial class Log
    {
        [LoggerMessage(3804, LogLevel.Warning, "Summary sweep failed; retrying at the next interval.")]
        public static partial void SweepFailed(ILogger logger, Exception exception);
    }
}
