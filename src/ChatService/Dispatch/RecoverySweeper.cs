using ChatService.Chats;
using Microsoft.Extensions.Options;

namespace ChatService.Dispatch;

/// <summary>
/// Re-dispatches owed replies whose lease expired: the replica that recorded or worked them was
/// killed, restarted or shut down before finishing. Claiming is transactional, so each reply is
/// taken by one replica; settling checks the lease, so it is stored once.
/// </summary>
public sealed partial class RecoverySweeper(
    IReplyStore store,
    ReplyHub hub,
    ReplyDispatcher dispatcher,
    IOptions<DispatchOptions> options,
    TimeProvider timeProvider,
    ILogger<RecoverySweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                Log.SweepFailed(logger, ex);
            }

            try
            {
                await Task.Delay(options.Value.SweepInterval, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Claims expired replies and queues them, a chat's replies in turn order. Returns how many.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var claimed = await store.ClaimExpiredAsync(options.Value.ClaimBatchSize, cancellationToken);
        if (claimed.Count == 0)
        {
            return 0;
        }

        Log.Claimed(logger, claimed.Count);
        DispatchMetrics.ReplyRecovered(claimed.Count);
        foreach (var chat in claimed.GroupBy(k => k.ChatId))
        {
            var replies = chat.OrderBy(k => k.Seq).ToList();
            foreach (var key in replies)
            {
                // A stream left from an earlier, abandoned attempt here is replaced by a fresh one.
                if (hub.TryGet(key, out var old) && old.IsEnded)
                {
                    hub.Discard(old);
                }

                hub.Open(key, pendingTurn: null, out _);
            }

            if (!dispatcher.TryEnqueue(new ReplyJob(replies, timeProvider.GetUtcNow())))
            {
                // Queue full: the lease runs out again and a later sweep (here or elsewhere) retries.
                DispatchMetrics.JobRejected();
                foreach (var key in replies)
                {
                    if (hub.TryGet(key, out var stream))
                    {
                        hub.Discard(stream);
                    }
                }
            }
        }

        return claimed.Count;
    }

    private static partial class Log
    {
        [LoggerMessage(3201, LogLevel.Information, "Recovered {Count} owed replies whose lease had expired.")]
        public static partial void Claimed(ILogger logger, int count);

        [LoggerMessage(3202, LogLevel.Warning, "Recovery sweep failed; retrying at the next interval.")]
        public static partial void SweepFailed(ILogger logger, Exception exception);
    }
}
