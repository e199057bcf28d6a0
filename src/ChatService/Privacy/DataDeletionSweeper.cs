using Microsoft.Extensions.Options;

namespace ChatService.Privacy;

/// <summary>
/// Finishes deletions nobody is working: their caller went away and the replica running them died or stopped
/// (their lease ran out). Each replica sweeps; the lease in Spanner lets one of them run a deletion at a time.
/// Each sweep also deletes the chats of imports abandoned half-written (<see cref="SweepImportsOnceAsync"/>) and
/// interrupted forks whose source chat is gone (<see cref="SweepOrphanedForksOnceAsync"/>).
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
                await SweepImportsOnceAsync(stoppingToken);
                await SweepOrphanedForksOnceAsync(stoppingToken);
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
    /// Deletes the chats of imports that never finished and can no longer be resumed: owned by nobody, started
    /// more than the import's retention (and an hour) ago, so their ChatImports row is past its retention or
    /// gone (imports read no row past it). Read from ChatsByUser's range of the empty user id, which holds
    /// only imports and forks under way (forks are left out): a sweep that finds none costs one short index
    /// read. At most <see cref="Batch"/> chats a sweep; a chat too big for one commit loses its turns a
    /// budget at a time first. Replicas sweeping at once delete the same chats harmlessly. Returns how many
    /// chats it deleted.
    /// </summary>
    public async Task<int> SweepImportsOnceAsync(CancellationToken cancellationToken)
    {
        var cutoff = timeProvider.GetUtcNow() - Storage.ChatArchiveStore.ImportRetention - TimeSpan.FromHours(1);
        var deleted = await DeleteOwnerlessAsync(await store.AbandonedImportChatsAsync(cutoff, Batch, cancellationToken), cancellationToken);
        if (deleted > 0)
        {
            DataDeletionMetrics.Removed("abandoned_import_chat", deleted);
            Log.AbandonedImports(logger, deleted);
        }

        return deleted;
    }

    /// <summary>
    /// Deletes the interrupted forks (owned by nobody) whose source chat is gone: a source deleted before DeleteChat
    /// took its ownerless forks along left them so, and nothing else can reach them (their record went with the
    /// source). Found in ChatsByUser's range of the empty user id as <see cref="SweepImportsOnceAsync"/> finds
    /// its chats, at most <see cref="Batch"/> a sweep. Returns how many chats it deleted.
    /// </summary>
    public async Task<int> SweepOrphanedForksOnceAsync(CancellationToken cancellationToken)
    {
        var deleted = await DeleteOwnerlessAsync(await store.OrphanedForkChatsAsync(Batch, cancellationToken), cancellationToken);
        if (deleted > 0)
        {
            DataDeletionMetrics.Removed("orphaned_fork_chat", deleted);
            Log.OrphanedForks(logger, deleted);
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

        [LoggerMessage(7111, LogLevel.Information, "Deleted {Chats} chat(s) of imports abandoned half-written past their retention.")]
        public static partial void AbandonedImports(ILogger logger, int chats);

        [LoggerMessage(7116, LogLevel.Information, "Deleted {Chats} interrupted fork(s) whose source chat is gone.")]
        public static partial void OrphanedForks(ILogger logger, int chats);

        [LoggerMessage(7110, LogLevel.Warning, "Data deletion sweep failed; retrying at the next interval.")]
        public static partial void SweepFailed(ILogger logger, Exception exception);
    }
}
