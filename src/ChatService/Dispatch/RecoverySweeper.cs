using ChatService.Chats;
using Microsoft.Extensions.Options;

namespace ChatService.Dispatch;

/// <summary>
/// Re-dispatches owed replies whose lease expired: the replica that recorded or worked them was
/// killed, restarted or shut down before finishing. Claiming is transactional, so each reply is
/// taken by one replica; settling checks the lease, so it is stored once.
/// </summary>
public sealed partial class RecoverySweeper(
    IReplyLedger ledger,
    ReplyHub hub,
    ReplyDispatcher dispatcher,
    IReplyLog log,
    SweepTrigger trigger,
    IOptions<DispatchOptions> options,
    TimeProvider timeProvider,
    ILogger<RecoverySweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var allShards = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepOnceAsync(stoppingToken, allShards);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                Log.SweepFailed(logger, ex);
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var interval = Task.Delay(options.Value.SweepInterval, timeProvider, wait.Token);
            var requested = trigger.WaitAsync(Timeout.InfiniteTimeSpan, wait.Token);
            await Task.WhenAny(interval, requested);
            await wait.CancelAsync();
            if (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            // A handover elsewhere: every shard, so the released replies are found in this sweep.
            allShards = requested.IsCompletedSuccessfully;
        }
    }

    /// <summary>Claims expired replies and queues them, a chat's replies in turn order. Returns how many.</summary>
    /// <param name="allShards">Scan every shard of the owed index rather than a random half (see <see cref="IReplyLedger.ClaimExpiredAsync"/>).</param>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken, bool allShards = false)
    {
        // Claim no more than this replica can queue: what it cannot work, it should not hold.
        var limit = Math.Min(options.Value.ClaimBatchSize, dispatcher.FreeCapacity);
        if (limit == 0 || !dispatcher.IsAcceptingWork)
        {
            return 0;
        }

        var result = await ledger.ClaimExpiredAsync(limit, allShards, cancellationToken);
        foreach (var settled in result.Settled)
        {
            var key = settled.Reply.ReplyKey;
            // A continuation given up on went back to its state before it, its failure kept as the undone continuation's.
            var final = ReplyUpdate.FinalOf(settled.Reply, sequence: 0);
            Log.SettledInstead(logger, key.ToString(), final.FailureReason ?? "");
            try
            {
                // Its followers end with it rather than at their next look at storage (failed, for an undone continuation too).
                await log.EndAsync(key, final);
            }
            catch (ReplyLogUnavailableException)
            {
                // They find it in storage when the log stays silent.
            }
        }

        var claimed = result.Claimed;
        if (claimed.Count == 0)
        {
            return result.Settled.Count;
        }

        Log.Claimed(logger, claimed.Count);
        DispatchMetrics.ReplyRecovered(claimed.Count);
        foreach (var chat in claimed.GroupBy(c => c.Key.ChatId))
        {
            // A reply still queued or generating here (its lease lapsed meanwhile) keeps its job.
            var opened = chat.OrderBy(c => c.Key.Seq)
                .Select(c => hub.Open(c.Key, c.Attempt))
                .OfType<OwnedReply>()
                .ToList();

            // A full queue hands the replies straight back for another sweep (here or elsewhere).
            await dispatcher.TryDispatchAsync(opened);
        }

        return claimed.Count;
    }

    private static partial class Log
    {
        [LoggerMessage(3201, LogLevel.Information, "Recovered {Count} owed replies whose lease had expired.")]
        public static partial void Claimed(ILogger logger, int count);

        [LoggerMessage(3203, LogLevel.Warning, "Recovery settled reply {Reply} instead of generating it again: {Reason}")]
        public static partial void SettledInstead(ILogger logger, string reply, string reason);

        [LoggerMessage(3202, LogLevel.Warning, "Recovery sweep failed; retrying at the next interval.")]
        public static partial void SweepFailed(ILogger logger, Exception exception);
    }
}
