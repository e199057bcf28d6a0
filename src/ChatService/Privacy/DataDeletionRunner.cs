using System.Collections.Concurrent;
using ChatService.Chats;
using ChatService.Dispatch;
using ChatService.Storage;
using Microsoft.Extensions.Options;
using Spanner.Client;

namespace ChatService.Privacy;

/// <summary>
/// Runs deletions of users' data (DeleteMyData): the caller's imports (with their half-written chats), chats, then lorebooks, personas and characters, a
/// batch per commit (<see cref="DataDeletionStore"/>), each batch's Redis keys deleted right after its commit.
/// A run belongs to the replica holding the deletion's lease, not to the call that started it: it goes on when
/// the caller goes away, and stops only with the process; the sweep (<see cref="DataDeletionSweeper"/>) of any
/// replica takes up a deletion whose lease ran out. Every batch is checked against the lease in its commit and
/// reads only what is left, so a run that resumes (after a crash, on another replica, or on a retry) deletes
/// exactly what the last one did not.
/// </summary>
internal sealed partial class DataDeletionRunner(
    DataDeletionStore store,
    ICachePurge cache,
    IOptions<DataDeletionOptions> options,
    IOptions<ChatOptions> chatOptions,
    IOptions<DispatchOptions> dispatchOptions,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    IEnumerable<IDeletionBatchObserver> observers,
    ILogger<DataDeletionRunner> logger)
{
    private readonly IDeletionBatchObserver[] _observers = [.. observers];

    /// <summary>
    /// Below this budget a refused batch is not halved again: it is one turn or one chat (at least 8 estimated
    /// mutations), and what Spanner refuses of that is not a matter of batch size.
    /// </summary>
    private const int MinBudget = 16;

    /// <summary>The runs on this replica, by user key: one at a time per user, whoever asks.</summary>
    private readonly ConcurrentDictionary<string, Lazy<Task<DataDeletionRecord>>> _runs = new(StringComparer.Ordinal);

    /// <summary>Most cache keys a run carries unpurged (Redis down) before it stops and leaves them to a resume.</summary>
    private const int MaxUnpurgedKeys = 20_000;

    private DataDeletionOptions Options => options.Value;

    private string Replica => chatOptions.Value.ReplicaId;

    /// <summary>
    /// Deletes the user's data and returns the finished deletion; when another replica is working it, waits
    /// for it to finish or for its lease to run out (then takes it over). Ends early, leaving the run going,
    /// when <paramref name="cancellationToken"/> is cancelled. A run that fails is not the caller's error: the
    /// deletion is stored and retried after its backoff, so the caller gets it as stored (RUNNING, with
    /// <see cref="DataDeletionRecord.FailedAttempts"/>, its error and its next attempt); only when that cannot
    /// be read either does the failure itself reach the caller (as the storage's UNAVAILABLE).
    /// </summary>
    public async Task<DataDeletionRecord> DeleteAsync(string userId, string requestId, CancellationToken cancellationToken)
    {
        var userKey = store.UserKeyOf(userId);
        while (true)
        {
            var run = _runs.GetOrAdd(userKey, key => new Lazy<Task<DataDeletionRecord>>(() => StartAsync(key, userId, requestId)));
            DataDeletionRecord? record;
            try
            {
                record = await run.Value.WaitAsync(cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // The run failed (and recorded it, backing off): the deletion stays stored and goes on.
                record = await StoredAfterFailureAsync(userId, ex, cancellationToken);
                return record;
            }

            if (record.State == DataDeletionState.Done)
            {
                return record;
            }

            // Another replica holds it: wait, then look again (its lease may have run out by then).
            await Task.Delay(Options.PollInterval, timeProvider, cancellationToken);
        }
    }

    /// <summary>The deletion as stored after a failed run; the failure itself when there is none or it cannot be read.</summary>
    private async Task<DataDeletionRecord> StoredAfterFailureAsync(string userId, Exception failure, CancellationToken cancellationToken)
    {
        DataDeletionRecord? stored;
        try
        {
            stored = await store.GetAsync(userId, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            stored = null;
        }

        if (stored is null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure is StorageException or ChatException
                ? failure
                : new ChatException(ChatErrorKind.Unavailable, "the deletion could not start; try again"));
        }

        return stored;
    }

    /// <summary>The user's deletion as stored (progress included); null when there was none.</summary>
    public Task<DataDeletionRecord?> GetAsync(string userId, CancellationToken cancellationToken) =>
        store.GetAsync(userId, cancellationToken);

    /// <summary>Takes up a deletion whose lease ran out (the sweep); false when it was not one to take.</summary>
    public async Task<bool> ResumeExpiredAsync(string userKey, CancellationToken cancellationToken)
    {
        if (_runs.ContainsKey(userKey))
        {
            return false;
        }

        if (await store.ClaimExpiredAsync(userKey, Replica, Options.Lease, cancellationToken) is not { } claim)
        {
            return false;
        }

        var (claimed, previous) = claim;

        // The replica that held it before (not this one, which holds it now); none after a failed run's backoff.
        Log.Resumed(logger, userKey[..12], claimed.ChatsDeleted, previous ?? "nobody (a failed run's backoff ended)");
        var run = _runs.GetOrAdd(userKey, key => new Lazy<Task<DataDeletionRecord>>(() => RunAsync(key, claimed)));
        _ = run.Value;
        return true;
    }

    private async Task<DataDeletionRecord> StartAsync(string userKey, string userId, string requestId)
    {
        try
        {
            var (record, claimed) = await store.StartAsync(userId, requestId, Replica, Options.Lease, lifetime.ApplicationStopping);
            if (!claimed)
            {
                return record;
            }

            Log.Started(logger, userKey[..12], record.RequestId, record.ChatsDeleted);
            return await ExecuteAsync(record);
        }
        finally
        {
            _runs.TryRemove(userKey, out _);
        }
    }

    private async Task<DataDeletionRecord> RunAsync(string userKey, DataDeletionRecord claimed)
    {
        try
        {
            return await ExecuteAsync(claimed);
        }
        finally
        {
            _runs.TryRemove(userKey, out _);
        }
    }

    private async Task<DataDeletionRecord> ExecuteAsync(DataDeletionRecord claimed)
    {
        var stopping = lifetime.ApplicationStopping;
        DataDeletionMetrics.Started();
        using var run = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var keeper = KeepLease(claimed.UserKey, run);
        try
        {
            var state = new RunState(Options.MutationBudget, Options.DefinitionsPerBatch);
            try
            {
                await DeleteEverythingAsync(claimed, state, run.Token);
            }
            finally
            {
                // No renewal after this: the finish commit below, or the failure's record, releases the deletion.
                await keeper.StopAsync();
            }

            var record = await store.CommitBatchAsync(claimed.UserKey, Replica, Options.Lease, [], default, [], stopping, finish: true);
            DataDeletionMetrics.Run("finished");
            Log.Finished(logger, claimed.UserKey[..12], record.RequestId, record.ChatsDeleted, record.CharactersDeleted, record.PersonasDeleted, record.LorebooksDeleted);
            return record;
        }
        catch (Exception ex) when (ex is DeletionLeaseLostException || (ex is OperationCanceledException && keeper.Lost && !stopping.IsCancellationRequested))
        {
            DataDeletionMetrics.Run("lease_lost");
            Log.LeaseLost(logger, claimed.UserKey[..12], ex is DeletionLeaseLostException ? ex.Message : "a renewal found it taken over");
            // The record under its own key (the one the run holds), as the replica that took it over keeps it.
            return await store.GetByKeyAsync(claimed.UserKey, CancellationToken.None)
                ?? throw new ChatException(ChatErrorKind.Unavailable, "the deletion's record is gone; try again");
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            DataDeletionMetrics.Run("stopped");
            throw;
        }
        catch (Exception ex)
        {
            DataDeletionMetrics.Run("failed");
            await RecordFailureAsync(claimed.UserKey, ex, stopping);
            throw;
        }
        finally
        {
            keeper.Dispose();
            DataDeletionMetrics.Ended();
        }
    }

    /// <summary>
    /// The run's lease keeper: it renews the deletion's lease every third of the lease for the whole run, so a
    /// batch slower than the lease (a big read, a slow Redis purge, a commit retried under contention) never lets
    /// another replica's sweep start the same deletion; a renewal that finds the deletion taken over (or
    /// finished) cancels the run. Stopped before the run releases the deletion (its last commit, or the record
    /// of its failure), so nothing renews it after. Each renewal and each failed one is counted (and a failure
    /// logged): renewals failing for a whole lease let another replica take the run over.
    /// </summary>
    private LeaseKeeper KeepLease(string userKey, CancellationTokenSource run) => new(
        async ct =>
        {
            if (!await store.RenewLeaseAsync(userKey, Replica, Options.Lease, ct))
            {
                return LeaseStatus.Lost;
            }

            DataDeletionMetrics.LeaseRenewed();
            return LeaseStatus.Held;
        },
        Options.Lease,
        timeProvider,
        run,
        renewalFailed: ex =>
        {
            DataDeletionMetrics.LeaseRenewalFailed();
            Log.RenewalFailed(logger, userKey[..12], ex);
        });

    /// <summary>
    /// Records a failed run: its error, one more failure in a row and the backoff before the next attempt
    /// (the sweep of any replica takes it up then). When that cannot be written either (Spanner down), the
    /// lease runs out as it would after a crash and the sweep takes it up then, uncounted.
    /// </summary>
    private async Task RecordFailureAsync(string userKey, Exception failure, CancellationToken ct)
    {
        try
        {
            var error = DataDeletionErrors.Stored(failure);
            var recorded = await store.RecordFailureAsync(userKey, Replica, error, Options.RetryBackoff, Options.MaxRetryBackoff, ct);
            if (recorded is not { } at)
            {
                Log.Failed(logger, userKey[..12], failure);
                return;
            }

            DataDeletionMetrics.Failed(stuck: at.AtMaxBackoff);
            if (at.AtMaxBackoff)
            {
                Log.Stuck(logger, userKey[..12], at.Attempts, at.Backoff, failure);
            }
            else
            {
                Log.Retrying(logger, userKey[..12], at.Attempts, at.Backoff, failure);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.Failed(logger, userKey[..12], failure);
            Log.FailureNotRecorded(logger, userKey[..12], ex);
        }
    }

    /// <summary>
    /// What a run learned about its batches: the mutation budget and the definitions per batch, each halved when
    /// Spanner refuses a commit for its mutations, and the keys committed but not purged yet.
    /// </summary>
    private sealed class RunState(int budget, int definitions)
    {
        public int Budget { get; set; } = budget;

        public int Definitions { get; set; } = definitions;

        /// <summary>Keys committed but not purged yet (Redis down): every later commit records them again with its own.</summary>
        public List<string> Unpurged { get; } = [];
    }

    /// <summary>
    /// Deletes everything of the user's, a batch per commit, up to (not including) the commit that finishes the
    /// deletion. A batch Spanner refuses for its mutations is chosen again at half the budget (or half the
    /// definitions): the loops read what is left each time, so a smaller batch is just the next read.
    /// </summary>
    private async Task DeleteEverythingAsync(DataDeletionRecord record, RunState run, CancellationToken ct)
    {
        var userId = record.UserId ?? throw new InvalidOperationException("a running deletion has its user id");
        var key = record.UserKey;
        var unpurged = run.Unpurged;
        // What the last run committed but may not have purged.
        await PurgeAsync(record.PendingCacheKeys, unpurged, ct);

        // Imports first (ChatImports rows and the half-written chats they point to, owned by nobody yet): with
        // its row gone an import under way cannot write another batch, so none finishes into a chat of the
        // user's behind the chats' pages below.
        while (await store.NextImportsAsync(userId, Options.ChatsPerBatch, ct) is { Count: > 0 } imports)
        {
            var budget = run.Budget;
            if (imports[0] is { OwnerlessChatId: { } bigChat, Cost: var bigCost } && bigCost > budget)
            {
                // Too big for one commit: its first turns go (with their candidates), then it is read again.
                var (seqs, _) = await store.FirstTurnsAsync(bigChat, budget, DateTimeOffset.MaxValue, ct);
                await CommitAsync(run, new DeletionBatch(key, "turn", seqs.Count, budget), [SpannerMutation.Delete("Turns", [.. seqs.Select(seq => SpannerKey.Of(bigChat, seq))])], default, [], ct);
                continue;
            }

            var taken = new List<DataDeletionStore.ImportRow>();
            var cost = 0L;
            foreach (var import in imports)
            {
                if (taken.Count > 0 && cost + import.Cost > budget)
                {
                    break;
                }

                taken.Add(import);
                cost += import.Cost;
            }

            var chatIds = taken.Where(i => i.OwnerlessChatId is not null).Select(i => i.OwnerlessChatId!).ToList();
            List<SpannerMutation> mutations = [SpannerMutation.Delete("ChatImports", [.. taken.Select(i => SpannerKey.Of(userId, i.RequestId))])];
            if (chatIds.Count > 0)
            {
                mutations.Add(SpannerMutation.Delete("Chats", [.. chatIds.Select(id => SpannerKey.Of(id))]));
            }

            if (await CommitAsync(run, new DeletionBatch(key, "import", taken.Count, cost), mutations, new DeletionProgress(Chats: chatIds.Count), [.. chatIds.SelectMany(id => cache.ChatKeys(id, []))], ct) is not null)
            {
                DataDeletionMetrics.Removed("import", taken.Count);
            }
        }

        // Chats (with everything interleaved in them, and their interrupted forks), a budget of mutations at a time.
        while (true)
        {
            var since = timeProvider.GetUtcNow() - dispatchOptions.Value.LogRetention - TimeSpan.FromMinutes(1);
            var batch = await store.NextChatsAsync(userId, Options.ChatsPerBatch, since, ct);
            if (batch.Chats.Count == 0)
            {
                break;
            }

            var budget = run.Budget;
            if (batch.Chats[0].Cost > budget)
            {
                // Too big for one commit: its first turns go (with their candidates), then it is read again.
                var chatId = batch.Chats[0].ChatId;
                var (seqs, replies) = await store.FirstTurnsAsync(chatId, budget, since, ct);
                var turnKeys = cache.ChatKeys(chatId, replies.Select(r => (r.Seq, r.CandidateId, r.Continuation)));
                await CommitAsync(run, new DeletionBatch(key, "turn", seqs.Count, budget), [SpannerMutation.Delete("Turns", [.. seqs.Select(seq => SpannerKey.Of(chatId, seq))])], default, turnKeys, ct);
                continue;
            }

            var chats = new List<string>();
            var cost = 0L;
            foreach (var (chatId, chatCost) in batch.Chats)
            {
                if (chats.Count > 0 && cost + chatCost > budget)
                {
                    break;
                }

                chats.Add(chatId);
                cost += chatCost;
            }

            var repliesByChat = batch.RecentReplies.ToLookup(r => r.ChatId, StringComparer.Ordinal);
            var keys = chats.SelectMany(id => cache.ChatKeys(id, repliesByChat[id].Select(r => (r.Seq, r.CandidateId, r.Continuation)))).ToList();
            var listed = chats.ToHashSet(StringComparer.Ordinal);
            if (await CommitAsync(run, new DeletionBatch(key, "chat", chats.Count, cost), [SpannerMutation.Delete("Chats", [.. chats.Select(id => SpannerKey.Of(id))])], new DeletionProgress(Chats: chats.Count), keys, ct,
                    (reader, token) => OwnerlessForks.DeletionsAsync(reader, chats, listed, token)) is { } progressed)
            {
                DataDeletionMetrics.Removed("chat", chats.Count);
                Log.Progress(logger, key[..12], progressed.ChatsDeleted);
            }
        }

        // Lorebooks, with their attachments (read in the commit's transaction: one attached meanwhile goes too).
        while (await store.NextLorebooksAsync(userId, run.Definitions, ct) is { Count: > 0 } books)
        {
            if (await CommitAsync(run, new DeletionBatch(key, "lorebook", books.Count, books.Count), [], new DeletionProgress(Lorebooks: books.Count), [.. books.SelectMany(cache.LorebookKeys)], ct,
                    (reader, token) => DataDeletionStore.LorebookDeletionsAsync(reader, books, token)) is not null)
            {
                DataDeletionMetrics.Removed("lorebook", books.Count);
            }
        }

        // Personas and the user's per-character overrides: two ranges of the user's.
        var personaRows = await store.CountPersonasAsync(userId, ct);
        if (personaRows > 0)
        {
            await CommitAsync(run, new DeletionBatch(key, "persona", (int)Math.Min(personaRows, int.MaxValue), personaRows),
                [SpannerMutation.DeleteRange("Personas", SpannerKey.Of(userId)), SpannerMutation.DeleteRange("PersonaOverrides", SpannerKey.Of(userId))],
                new DeletionProgress(Personas: personaRows), cache.UserKeys(userId), ct);
            DataDeletionMetrics.Removed("persona", personaRows);
        }

        // Characters: scrubbed, owned by nobody (so they leave the owner's range the next read pages). The scrub
        // is built from the characters as the commit's transaction reads them: an update committed meanwhile
        // (new tags, so new catalog rows) is scrubbed too, not overwritten by what was read before it.
        while (await store.NextCharactersAsync(userId, run.Definitions, ct) is { Count: > 0 } characters)
        {
            if (await CommitAsync(run, new DeletionBatch(key, "character", characters.Count, characters.Count), [], new DeletionProgress(Characters: characters.Count),
                    [.. characters.SelectMany(cache.CharacterKeys)], ct, (reader, token) => DataDeletionStore.CharacterScrubsAsync(reader, userId, characters, token)) is not null)
            {
                DataDeletionMetrics.Removed("character", characters.Count);
            }
        }

        // The user's own keys go last, after the rows they stand for: nothing can bring them back.
        IReadOnlyList<string> last = [.. unpurged, .. cache.UserKeys(userId)];
        unpurged.Clear();
        await PurgeAsync(last, unpurged, ct);
        if (unpurged.Count > 0)
        {
            // Finishing would forget them: the run fails (and backs off), and the next purges them (they are still pending).
            throw new ChatException(ChatErrorKind.Unavailable, "the cache is unreachable; the deletion goes on once it is back");
        }
    }

    /// <summary>
    /// Commits one batch, then purges its keys. Null, committing nothing, when Spanner refused it for its
    /// mutations (count or size): the run's budget (or definitions per batch) is halved, and the caller's
    /// loop chooses a smaller batch from what is left.
    /// </summary>
    private async Task<DataDeletionRecord?> CommitAsync(
        RunState run, DeletionBatch batch, IReadOnlyList<SpannerMutation> mutations, DeletionProgress progress, IReadOnlyList<string> cacheKeys, CancellationToken ct,
        Func<ISpannerReader, CancellationToken, Task<IReadOnlyList<SpannerMutation>>>? build = null)
    {
        var unpurged = run.Unpurged;
        IReadOnlyList<string> pending = unpurged.Count == 0 ? cacheKeys : [.. unpurged.Concat(cacheKeys).Distinct(StringComparer.Ordinal)];
        DataDeletionRecord record;
        try
        {
            foreach (var observer in _observers)
            {
                await observer.BeforeCommitAsync(batch, ct);
            }

            record = await store.CommitBatchAsync(batch.UserKey, Replica, Options.Lease, mutations, progress, pending, ct, build: build);
        }
        catch (StorageException ex) when (SpannerErrors.IsTooManyMutations(ex) && CanHalve(batch.Kind, batch.Items, run.Budget))
        {
            // Halve what chose the batch: the mutation budget, or the count of definitions.
            if (batch.Kind is "lorebook" or "character")
            {
                run.Definitions = Math.Max(1, run.Definitions / 2);
            }
            else
            {
                run.Budget = Math.Max(MinBudget, run.Budget / 2);
            }

            DataDeletionMetrics.Halved();
            Log.Halved(logger, batch.UserKey[..12], batch.Kind, batch.Items, run.Budget, run.Definitions, ex.Message);
            return null;
        }

        DataDeletionMetrics.Batch();
        unpurged.Clear();
        await PurgeAsync(pending, unpurged, ct);
        if (unpurged.Count > MaxUnpurgedKeys)
        {
            throw new ChatException(ChatErrorKind.Unavailable, "the cache is unreachable; the deletion goes on once it is back");
        }

        return record;
    }

    /// <summary>
    /// Whether a smaller batch of the kind exists. Chats and imports: while the budget can still halve,
    /// whatever the batch's count: a single chat (or import's chat) refused goes next a budget of its turns
    /// at a time (its cost is then over the budget). Turns: more than one, and the budget can halve.
    /// Lorebooks and characters: more than one. The personas' two range deletions cannot be split: the
    /// refusal fails the run (and it backs off).
    /// </summary>
    internal static bool CanHalve(string kind, int items, int budget) => kind switch
    {
        "chat" or "import" => budget > MinBudget,
        "turn" => items > 1 && budget > MinBudget,
        "lorebook" or "character" => items > 1,
        _ => false,
    };

    /// <summary>
    /// Purges the keys; when Redis fails, adds them to <paramref name="unpurged"/> (which the caller emptied of
    /// them) instead of failing: they are in the deletion's pending keys, which the next commit carries on.
    /// </summary>
    private async Task PurgeAsync(IReadOnlyList<string> keys, List<string> unpurged, CancellationToken ct)
    {
        if (keys.Count == 0)
        {
            return;
        }

        try
        {
            await cache.PurgeAsync(keys, ct);
            DataDeletionMetrics.Removed("cache_key", keys.Count);
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException && !ct.IsCancellationRequested)
        {
            // Redis is down or slow: the keys stay pending (the batch's commit recorded them), the deletion goes
            // on with Spanner, and a later batch or a resume purges them.
            unpurged.AddRange(keys);

            DataDeletionMetrics.PurgeDeferred(keys.Count);
            Log.PurgeDeferred(logger, keys.Count, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(7101, LogLevel.Information, "Data deletion {UserKey} (request {RequestId}) started on this replica; {Chats} chat(s) deleted before.")]
        public static partial void Started(ILogger logger, string userKey, string requestId, long chats);

        [LoggerMessage(7102, LogLevel.Information, "Data deletion {UserKey} taken over from {Owner}, whose lease ran out; {Chats} chat(s) deleted before.")]
        public static partial void Resumed(ILogger logger, string userKey, long chats, string owner);

        [LoggerMessage(7103, LogLevel.Debug, "Data deletion {UserKey}: {Chats} chat(s) deleted so far.")]
        public static partial void Progress(ILogger logger, string userKey, long chats);

        [LoggerMessage(7104, LogLevel.Information,
            "Data deletion {UserKey} (request {RequestId}) finished: {Chats} chat(s), {Characters} character(s) scrubbed, {Personas} persona row(s), {Lorebooks} lorebook(s).")]
        public static partial void Finished(ILogger logger, string userKey, string requestId, long chats, long characters, long personas, long lorebooks);

        [LoggerMessage(7105, LogLevel.Warning, "Data deletion {UserKey} stopped on this replica: {Message}.")]
        public static partial void LeaseLost(ILogger logger, string userKey, string message);

        [LoggerMessage(7107, LogLevel.Warning, "Data deletion could not purge {Keys} Redis key(s); they stay pending and a later batch or a resume purges them.")]
        public static partial void PurgeDeferred(ILogger logger, int keys, Exception exception);

        [LoggerMessage(7106, LogLevel.Warning, "Data deletion {UserKey} failed on this replica; the sweep takes it up again once its lease runs out.")]
        public static partial void Failed(ILogger logger, string userKey, Exception exception);

        [LoggerMessage(7108, LogLevel.Warning, "Data deletion {UserKey} failed ({Attempts} failure(s) in a row); the next attempt in {Backoff}, on any replica.")]
        public static partial void Retrying(ILogger logger, string userKey, long attempts, TimeSpan backoff, Exception exception);

        [LoggerMessage(7109, LogLevel.Error, "Data deletion {UserKey} is stuck: {Attempts} failures in a row; retried every {Backoff} until its cause is fixed.")]
        public static partial void Stuck(ILogger logger, string userKey, long attempts, TimeSpan backoff, Exception exception);

        [LoggerMessage(7112, LogLevel.Warning, "Data deletion {UserKey}: its failure could not be recorded; its lease runs out and the sweep takes it up again.")]
        public static partial void FailureNotRecorded(ILogger logger, string userKey, Exception exception);

        [LoggerMessage(7113, LogLevel.Warning,
            "Data deletion {UserKey}: Spanner refused a {Kind} batch of {Items} for its mutations ({Message}); the budget is now {Budget} mutations, {Definitions} definitions a batch.")]
        public static partial void Halved(ILogger logger, string userKey, string kind, int items, int budget, int definitions, string message);

        [LoggerMessage(7115, LogLevel.Warning, "Data deletion {UserKey}: renewing its lease failed; trying again in a third of the lease (the run is taken over if renewals fail until it runs out).")]
        public static partial void RenewalFailed(ILogger logger, string userKey, Exception exception);
    }
}
