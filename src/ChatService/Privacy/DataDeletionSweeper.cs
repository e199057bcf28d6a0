using Microsoft.Extensions.Options;

namespace ChatService.Privacy;

/// <summary>
/// Finishes deletions nobody is working: their caller went away and the replica running them died or stopped
/// (their lease ran out). Each replica sweeps; the lease in Spanner lets one of them run a deletion at a time.
/// Each sweep also deletes the chats of imports and forks abandoned half-written (<see cref="SweepAbandonedChatsOnceAsync"/>).
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

    /// <summary>
    /// How old an ownerless chat's first commit is when the sweep deletes it: past its ChatImports row's or its fork
    /// record's retention (both 7 days), and an hour more.
    /// </summary>
    internal static readonly TimeSpan AbandonedAfter =
        (Storage.ChatArchiveStore.ImportRetention > Storage.ChatOperations.Retention ? Storage.ChatArchiveStore.ImportRetention : Storage.ChatOperations.Retention)
        + TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.UserKeySecret is null)
        {
            Log.DevelopmentSecret(logger);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.SweepInterval, timeProvider, stoppingToken);
                await SweepOnceAsync(stoppingToken);
                await SweepAbandonedChatsOnceAsync(stoppingToken);
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

    /// <summary>
    /// Deletes the chats of imports and forks that never finished and can no longer be resumed: owned by nobody,
    /// first committed more than the records' retention (7 days, an import's and a fork's alike) and an hour ago,
    /// so their record is past its retention or gone (reads treat one past it as gone). That covers imports
    /// abandoned half-written, forks interrupted and never retried, and forks whose source chat was deleted
    /// (their record with it) before DeleteChat took such forks along. Read from ChatsByUser's range of the empty
    /// user id up to the cutoff (one short index read when there are none), at most <see cref="Batch"/> chats a
    /// sweep; a chat too big for one commit loses its turns a budget at a time first. Replicas sweeping at once
    /// delete the same chats harmlessly. Returns how many chats it deleted.
    /// </summary>
    public async Task<int> SweepAbandonedChatsOnceAsync(CancellationToken cancellationToken)
    {
        var cutoff = timeProvider.GetUtcNow() - AbandonedAfter;
        var deleted = await DeleteOwnerlessAsync(await store.AbandonedChatsAsync(cutoff, Batch, cancellationToken), cancellationToken);
        if (deleted > 0)
        {
            DataDeletionMetrics.Removed("abandoned_chat", deleted);
            Log.AbandonedChats(logger, deleted);
        }

        return deleted;
    }

    /// <summary>Deletes ownerless chats within the mutation budget a commit; a chat too big for one loses its first turns (the chat itself goes at a later sweep).</summary>
    private async Task<int> DeleteOwnerlessAsync(IReadOnlyList<(string ChatId, long Cost)> chats, CancellationToken cancellationToken)
    {
        var budget = options.Value.MutationBudget;
        var deleted = 0;
        var small = new List<string>();
        var cost = 0L;
        foreach (var (chatId, chatCost) in chats)
        {
            if (chatCost > budget)
            {
                // Its first turns now; the chat itself at a later sweep, once it fits.
                await store.DeleteOwnerlessTurnsAsync(chatId, budget, cancellationToken);
                continue;
            }

            if (small.Count > 0 && cost + chatCost > budget)
            {
                deleted += await store.DeleteOwnerlessChatsAsync(small, cancellationToken);
                small.Clear();
                cost = 0;
            }

            small.Add(chatId);
            cost += chatCost;
        }

        if (small.Count > 0)
        {
            deleted += await store.DeleteOwnerlessChatsAsync(small, cancellationToken);
        }

        return deleted;
    }

    private static partial class Log
    {
        [LoggerMessage(7114, LogLevel.Warning,
            "DataDeletion:UserKeySecret is not set: deletion records are keyed with a public development secret, so anyone can tell whose they are. Use this only for local development.")]
        public static partial void DevelopmentSecret(ILogger logger);

        [LoggerMessage(7111, LogLevel.Information, "Deleted {Chats} chat(s) of imports or forks abandoned half-written past their retention.")]
        public static partial void AbandonedChats(ILogger logger, int chats);

        [LoggerMessage(7110, LogLevel.Warning, "Data deletion sweep failed; retrying at the next interval.")]
        public static partial void SweepFailed(ILogger logger, Exception exception);
    }
}
