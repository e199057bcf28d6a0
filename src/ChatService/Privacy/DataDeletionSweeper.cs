using Microsoft.Extensions.Options;

namespace ChatService.Privacy;

/// <summary>
/// Finishes deletions nobody is working: their caller went away and the replica running them died or stopped
/// (their lease ran out). Each replica sweeps; the lease in Spanner lets one of them run a deletion at a time.
/// </summary>
internal sealed partial class DataDeletionSweeper(
    Storage.DataDeletionStore store,
    DataDeletionRunner runner,
    IOptions<DataDeletionOptions> options,
    TimeProvider timeProvider,
    ILogger<DataDeletionSweeper> logger) : BackgroundService
{
    /// <summary>Most deletions taken up by one sweep.</summary>
    private const int Batch = 10;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
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

    /// <summary>Takes up the deletions whose lease ran out; returns how many this replica took.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var taken = 0;
        foreach (var userKey in await store.ExpiredAsync(Batch, cancellationToken))
        {
            if (await runner.ResumeExpiredAsync(userKey, cancellationToken))
            {
                taken++;
            }
        }

        return taken;
    }

    private static partial class Log
    {
        [LoggerMessage(7110, LogLevel.Warning, "Data deletion sweep failed; retrying at the next interval.")]
        public static partial void SweepFailed(ILogger logger, Exception exception);
    }
}
