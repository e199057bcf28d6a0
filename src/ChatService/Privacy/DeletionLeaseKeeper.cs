using ChatService.Storage;

namespace ChatService.Privacy;

/// <summary>
/// Keeps this replica's lease on a deletion alive while a run works it, renewing every third of the lease
/// (as the reply pipeline's lease keeper does for replies), so a batch slower than the lease (a big read, a
/// slow Redis purge, a commit retried under contention) never lets another replica's sweep start the same
/// deletion. When a renewal finds the deletion taken over, the run is cancelled. Stopped before the run
/// releases the deletion (its last commit, or the record of its failure), so nothing renews it after.
/// </summary>
internal sealed partial class DeletionLeaseKeeper : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private readonly ILogger _logger;

    public DeletionLeaseKeeper(DataDeletionStore store, string userKey, string owner, TimeSpan lease, TimeProvider timeProvider, CancellationTokenSource run, ILogger logger)
    {
        _logger = logger;
        _loop = RenewAsync(store, userKey, owner, lease, timeProvider, run);
    }

    /// <summary>True when a renewal found the deletion held by another replica (or finished).</summary>
    public bool Lost { get; private set; }

    /// <summary>Renewals that went through, for tests and logs.</summary>
    public int Renewals { get; private set; }

    private async Task RenewAsync(DataDeletionStore store, string userKey, string owner, TimeSpan lease, TimeProvider timeProvider, CancellationTokenSource run)
    {
        try
        {
            while (true)
            {
                await Task.Delay(lease / 3, timeProvider, _stop.Token);
                bool held;
                try
                {
                    held = await store.RenewLeaseAsync(userKey, owner, lease, _stop.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Spanner trouble: try again at the next tick; the batch's own commit checks the lease anyway.
                    // Said and counted: renewals failing for a whole lease let another replica take the run over.
                    DataDeletionMetrics.LeaseRenewalFailed();
                    Log.RenewalFailed(_logger, userKey[..12], ex);
                    continue;
                }

                if (!held)
                {
                    Lost = true;
                    try
                    {
                        await run.CancelAsync();
                    }
                    catch (ObjectDisposedException)
                    {
                        // The run ended meanwhile.
                    }

                    return;
                }

                Renewals++;
                DataDeletionMetrics.LeaseRenewed();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped: the run is releasing the deletion.
        }
    }

    /// <summary>Stops renewing and waits for a renewal in flight, so nothing extends the lease after this returns.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(7115, LogLevel.Warning, "Data deletion {UserKey}: renewing its lease failed; trying again in a third of the lease (the run is taken over if renewals fail until it runs out).")]
        public static partial void RenewalFailed(ILogger logger, string userKey, Exception exception);
    }
}
