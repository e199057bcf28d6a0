using System.Security.Cryptography;
using System.Text;
using ChatService.Chats;
using Microsoft.Extensions.Options;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>The state of a user's data deletion, as stored in DataDeletions (schema version 16).</summary>
public enum DataDeletionState
{
    Running = 1,
    Done = 2,
}

/// <summary>A user's data deletion: its run, its lease and its progress.</summary>
public sealed record DataDeletionRecord(
    string UserKey,
    string? UserId,
    string RequestId,
    DataDeletionState State,
    string? Owner,
    DateTimeOffset? LeaseUntil,
    long ChatsDeleted,
    long CharactersDeleted,
    long PersonasDeleted,
    long LorebooksDeleted,
    IReadOnlyList<string> PendingCacheKeys,
    DateTimeOffset CreateTime,
    DateTimeOffset UpdateTime,
    DateTimeOffset? FinishTime,
    long FailedAttempts = 0,
    string? LastError = null,
    DateTimeOffset? LastErrorTime = null)
{
    /// <summary>True while the deletion waits out its backoff after a failed run: nobody owns it until <see cref="LeaseUntil"/>.</summary>
    public bool BackingOff => State == DataDeletionState.Running && Owner is null && FailedAttempts > 0;
}

/// <summary>A failed run recorded: the failures in a row so far and when the next attempt may start.</summary>
public readonly record struct DeletionFailure(long Attempts, TimeSpan Backoff, DateTimeOffset RetryAt, bool AtMaxBackoff);

/// <summary>What a batch deleted, to add to the record's progress.</summary>
public readonly record struct DeletionProgress(long Chats = 0, long Characters = 0, long Personas = 0, long Lorebooks = 0);

/// <summary>The deletion's lease was taken over by another replica (its own ran out): this run stops.</summary>
public sealed class DeletionLeaseLostException(string message) : Exception(message);

/// <summary>
/// The Spanner side of DeleteMyData: the deletion's record and lease, and the batches that delete a user's
/// rows. Every batch commits its deletions together with the record's progress and the Redis keys of what it
/// deleted, after checking in the same transaction that this replica still holds the lease: two replicas
/// never both work a deletion, and a run that dies leaves a record that says exactly what is left to purge.
/// Nothing here reads or writes another user's rows: every read is led by the user's id (the ChatsByUser,
/// CharactersByOwner and LorebooksByOwner indexes, and the user's ranges of Personas and PersonaOverrides).
/// </summary>
internal sealed class DataDeletionStore(SpannerGateway spanner, TimeProvider timeProvider, IOptions<Privacy.DataDeletionOptions> options)
{
    private const string Columns =
        "UserKey, UserId, RequestId, State, Owner, LeaseUntil, ChatsDeleted, CharactersDeleted, PersonasDeleted, LorebooksDeleted, " +
        "PendingCacheKeys, CreateTime, UpdateTime, FinishTime, FailedAttempts, LastError, LastErrorTime";

    /// <summary>Longest failure description stored (the column's size).</summary>
    private const int MaxErrorLength = 1024;

    private readonly byte[] _secret = Encoding.UTF8.GetBytes(options.Value.UserKeySecret ?? Privacy.DataDeletionOptions.DevelopmentUserKeySecret);

    /// <summary>
    /// The record's key: the hex HMAC-SHA256 of the user id under <c>DataDeletion:UserKeySecret</c>. The record
    /// that stays after the deletion holds no user id, and without the secret its key cannot be matched to one
    /// by hashing guessed ids (a plain hash could).
    /// </summary>
    public string UserKeyOf(string userId) => Convert.ToHexStringLower(HMACSHA256.HashData(_secret, Encoding.UTF8.GetBytes(userId)));

    /// <summary>
    /// The key records had before schema version 19 (the plain SHA-256 of the user id): read so that a user's
    /// deletion recorded under it is still found, and replaced by <see cref="UserKeyOf"/> when the user starts
    /// a deletion again. Such rows expire 30 days after they finished, like every record.
    /// </summary>
    public static string LegacyUserKeyOf(string userId) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(userId)));

    /// <summary>The user's deletion (under its key, or the key before schema version 19); null when there is none.</summary>
    public Task<DataDeletionRecord?> GetAsync(string userId, CancellationToken cancellationToken) =>
        spanner.ReadAsync(async (reader, ct) => await ReadAsync(reader, UserKeyOf(userId), ct) ?? await ReadAsync(reader, LegacyUserKeyOf(userId), ct), cancellationToken);

    /// <summary>The deletion stored under <paramref name="userKey"/> (a record's own key, as a run or the sweep holds it); null when there is none.</summary>
    public Task<DataDeletionRecord?> GetByKeyAsync(string userKey, CancellationToken cancellationToken) =>
        spanner.ReadAsync((reader, ct) => ReadAsync(reader, userKey, ct), cancellationToken);

    /// <summary>
    /// Starts, continues or takes over the user's deletion for <paramref name="owner"/> until <paramref name="leaseUntil"/>.
    /// A finished run of the same request id is returned as it is (not claimed); a finished run of another
    /// starts a new run. A running one is claimed unless another replica's lease on it is still good (then it
    /// is returned unclaimed, whatever the request id: it is the same user's deletion).
    /// </summary>
    public async Task<(DataDeletionRecord Record, bool Claimed)> StartAsync(
        string userId, string requestId, string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        var userKey = UserKeyOf(userId);
        var ((record, claimed), committed) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var current = await ReadAsync(tx, userKey, ct);
            if (current is null && await ReadAsync(tx, LegacyUserKeyOf(userId), ct) is { } legacy)
            {
                if (legacy is { State: DataDeletionState.Running } && legacy.Owner is not null && legacy.LeaseUntil > timeProvider.GetUtcNow())
                {
                    // Worked now (by the sweep, under its old key): wait for it like for any other replica's run.
                    return (legacy, false);
                }

                if (legacy is { State: DataDeletionState.Done } && legacy.RequestId == requestId)
                {
                    return (legacy, false);
                }

                // From here on the deletion lives under the new key: the old row goes in this commit (a run still
                // holding it loses its lease at its next commit), and a running one carries on under the new key.
                tx.BufferWrite(SpannerMutation.Delete("DataDeletions", [SpannerKey.Of(legacy.UserKey)]));
                if (legacy.BackingOff && legacy.LeaseUntil > timeProvider.GetUtcNow())
                {
                    // Waiting out the backoff of a failed run: moved under the new key as it is (nobody's until
                    // its LeaseUntil), not claimed before its next attempt is due.
                    var waiting = legacy with { UserKey = userKey };
                    tx.BufferWrite(Rekeyed(waiting));
                    return (waiting, false);
                }

                if (legacy.State == DataDeletionState.Running)
                {
                    var moved = legacy with { UserKey = userKey, Owner = owner, LeaseUntil = timeProvider.GetUtcNow() + lease };
                    tx.BufferWrite(Rekeyed(moved));
                    return (moved, true);
                }
            }

            var now = timeProvider.GetUtcNow();
            if (current is { State: DataDeletionState.Done } done && done.RequestId == requestId)
            {
                return (done, false);
            }

            if (current is { State: DataDeletionState.Running } running && running.Owner != owner && running.LeaseUntil > now)
            {
                // Another replica's, or (no owner) backing off after a failure until LeaseUntil.
                return (running, false);
            }

            if (current is { State: DataDeletionState.Running } taken)
            {
                tx.BufferWrite(Lease(SpannerMutation.Update("DataDeletions").Set("UserKey", userKey), owner, now + lease));
                return (taken with { Owner = owner, LeaseUntil = now + lease }, true);
            }

            tx.BufferWrite(Lease(SpannerMutation.Replace("DataDeletions"), owner, now + lease)
                .Set("UserKey", userKey)
                .Set("UserId", userId)
                .Set("RequestId", requestId)
                .Set("State", (long)DataDeletionState.Running)
                .Set("ChatsDeleted", 0L)
                .Set("CharactersDeleted", 0L)
                .Set("PersonasDeleted", 0L)
                .Set("LorebooksDeleted", 0L)
                .Set("CreateTime", SpannerCommitTimestamp.Value));
            return (new DataDeletionRecord(userKey, userId, requestId, DataDeletionState.Running, owner, now + lease, 0, 0, 0, 0, [], default, default, null), true);
        }, cancellationToken);
        return (record.CreateTime == default ? record with { CreateTime = committed, UpdateTime = committed } : record, claimed);
    }

    /// <summary>
    /// Takes over a running deletion whose lease ran out (the sweep): the claimed record and who held it before
    /// (null after a failed run's backoff); null when it is not one to take any more.
    /// </summary>
    public async Task<(DataDeletionRecord Record, string? PreviousOwner)?> ClaimExpiredAsync(string userKey, string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        var (claim, _) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var current = await ReadAsync(tx, userKey, ct);
            var now = timeProvider.GetUtcNow();
            if (current is not { State: DataDeletionState.Running, UserId: not null } || current.LeaseUntil > now)
            {
                return ((DataDeletionRecord, string?)?)null;
            }

            tx.BufferWrite(Lease(SpannerMutation.Update("DataDeletions").Set("UserKey", userKey), owner, now + lease));
            return (current with { Owner = owner, LeaseUntil = now + lease }, current.Owner);
        }, cancellationToken);
        return claim;
    }

    /// <summary>
    /// Extends this replica's lease on a running deletion (the run's lease keeper, between batches' commits);
    /// false, writing nothing, when the deletion is no longer this replica's.
    /// </summary>
    public async Task<bool> RenewLeaseAsync(string userKey, string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        var (held, _) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var current = await ReadAsync(tx, userKey, ct);
            if (current is not { State: DataDeletionState.Running } || current.Owner != owner)
            {
                return false;
            }

            tx.BufferWrite(Lease(SpannerMutation.Update("DataDeletions").Set("UserKey", userKey), owner, timeProvider.GetUtcNow() + lease));
            return true;
        }, cancellationToken);
        return held;
    }

    /// <summary>
    /// Records a failed run of this replica's and gives the deletion up until its next attempt: one more failure
    /// in a row, the error, no owner, and a lease until now plus <paramref name="backoff"/> times two to the
    /// failures before (at most <paramref name="maxBackoff"/>), so the sweep of any replica (or the user's
    /// retry) takes it up then and not before. Null, writing nothing, when it is no longer this replica's.
    /// </summary>
    public async Task<DeletionFailure?> RecordFailureAsync(
        string userKey, string owner, string error, TimeSpan backoff, TimeSpan maxBackoff, CancellationToken cancellationToken)
    {
        var (failure, _) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var current = await ReadAsync(tx, userKey, ct);
            if (current is not { State: DataDeletionState.Running } || current.Owner != owner)
            {
                return (DeletionFailure?)null;
            }

            var attempts = current.FailedAttempts + 1;
            var wait = BackoffFor(attempts, backoff, maxBackoff);
            var retryAt = timeProvider.GetUtcNow() + wait;
            tx.BufferWrite(SpannerMutation.Update("DataDeletions")
                .Set("UserKey", userKey)
                .Set("Owner", null)
                .Set("LeaseUntil", retryAt)
                .Set("FailedAttempts", attempts)
                .Set("LastError", error.Length > MaxErrorLength ? error[..MaxErrorLength] : error)
                .Set("LastErrorTime", SpannerCommitTimestamp.Value)
                .Set("UpdateTime", SpannerCommitTimestamp.Value));
            return new DeletionFailure(attempts, wait, retryAt, wait >= maxBackoff);
        }, cancellationToken);
        return failure;
    }

    /// <summary>The wait after the <paramref name="attempts"/>-th failure in a row: doubled each time, at most <paramref name="maxBackoff"/>.</summary>
    public static TimeSpan BackoffFor(long attempts, TimeSpan backoff, TimeSpan maxBackoff)
    {
        // Past 2^30 any backoff is over the maximum (which is at most a day); no overflow.
        var doublings = (int)Math.Clamp(attempts - 1, 0, 30);
        var ticks = Math.Min((double)backoff.Ticks * Math.Pow(2, doublings), maxBackoff.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Running deletions whose lease ran out, from the DataDeletionsByLease index (only running ones are in it).</summary>
    public async Task<IReadOnlyList<string>> ExpiredAsync(int limit, CancellationToken cancellationToken)
    {
        var statement = new SpannerStatement(
                "SELECT UserKey FROM DataDeletions@{FORCE_INDEX=DataDeletionsByLease, spanner_emulator.disable_query_null_filtered_index_check=true} " +
                "WHERE LeaseUntil < @now ORDER BY LeaseUntil LIMIT @limit")
            .Add("now", timeProvider.GetUtcNow())
            .Add("limit", (long)limit);
        var rows = await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(statement, ct), cancellationToken);
        return rows.Select(r => r.Get<string>("UserKey")).ToList();
    }

    /// <summary>
    /// Commits one batch: <paramref name="mutations"/>, the record's progress, its new lease and the Redis keys of
    /// what the batch deleted (replacing the previous batch's, which the caller purged before this batch).
    /// Throws <see cref="DeletionLeaseLostException"/>, committing nothing, when another replica took it over.
    /// </summary>
    public async Task<DataDeletionRecord> CommitBatchAsync(
        string userKey, string owner, TimeSpan lease, IReadOnlyList<SpannerMutation> mutations, DeletionProgress progress,
        IReadOnlyList<string> cacheKeys, CancellationToken cancellationToken, bool finish = false,
        Func<ISpannerReader, CancellationToken, Task<IReadOnlyList<SpannerMutation>>>? build = null)
    {
        var (record, committed) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var current = await ReadAsync(tx, userKey, ct);
            if (current is not { State: DataDeletionState.Running } || current.Owner != owner)
            {
                throw new DeletionLeaseLostException($"the deletion {userKey[..12]}… is no longer this replica's");
            }

            // Mutations built from reads in this transaction: a concurrent write to those rows aborts and reruns
            // it, so the batch never commits what it read before someone else's change.
            // Built into a local each time: a rerun after an abort must not keep the last attempt's mutations.
            IReadOnlyList<SpannerMutation> batch = build is null ? mutations : [.. mutations, .. await build(tx, ct)];
            foreach (var mutation in batch)
            {
                tx.BufferWrite(mutation);
            }

            var now = timeProvider.GetUtcNow();
            var next = current with
            {
                ChatsDeleted = current.ChatsDeleted + progress.Chats,
                CharactersDeleted = current.CharactersDeleted + progress.Characters,
                PersonasDeleted = current.PersonasDeleted + progress.Personas,
                LorebooksDeleted = current.LorebooksDeleted + progress.Lorebooks,
                PendingCacheKeys = finish ? [] : cacheKeys,
                LeaseUntil = finish ? null : now + lease,
                State = finish ? DataDeletionState.Done : DataDeletionState.Running,
                UserId = finish ? null : current.UserId,
                Owner = finish ? null : owner,
                FailedAttempts = 0,
            };
            var write = SpannerMutation.Update("DataDeletions")
                .Set("UserKey", userKey)
                .Set("ChatsDeleted", next.ChatsDeleted)
                .Set("CharactersDeleted", next.CharactersDeleted)
                .Set("PersonasDeleted", next.PersonasDeleted)
                .Set("LorebooksDeleted", next.LorebooksDeleted)
                .Set("PendingCacheKeys", next.PendingCacheKeys.Count == 0 ? null : next.PendingCacheKeys.ToList())
                .Set("UpdateTime", SpannerCommitTimestamp.Value)
                .Set("LeaseUntil", next.LeaseUntil)
                .Set("Owner", next.Owner)
                .Set("State", (long)next.State)
                .Set("UserId", next.UserId);
            if (current.FailedAttempts != 0)
            {
                // A batch went through: the failures in a row start again (the last error stays, for the record).
                write.Set("FailedAttempts", 0L);
            }

            if (finish)
            {
                write.Set("FinishTime", SpannerCommitTimestamp.Value);
            }

            tx.BufferWrite(write);
            return next;
        }, cancellationToken);
        return record with { UpdateTime = committed, FinishTime = finish ? committed : null };
    }

    /// <summary>A batch of the user's chats: their ids, an estimate of the mutations deleting each costs, and the replies that may still have a log in Redis.</summary>
    public sealed record ChatBatch(IReadOnlyList<(string ChatId, long Cost)> Chats, IReadOnlyList<ReplyKey> RecentReplies);

    /// <summary>
    /// The user's next <paramref name="limit"/> chats (from ChatsByUser, archived ones too), preceded by their
    /// interrupted forks, with what deleting each costs in mutations (see <see cref="ChatCost"/>), and their
    /// replies touched since <paramref name="since"/>.
    /// </summary>
    public async Task<ChatBatch> NextChatsAsync(string userId, int limit, DateTimeOffset since, CancellationToken cancellationToken) =>
        await spanner.SnapshotAsync(async (reader, ct) =>
        {
            // The page first, then the sizes of just those chats (one range of Turns each): a correlated count in
            // the page's query could be evaluated for every chat of the user before the LIMIT.
            var ids = (await reader.QueryListAsync(
                    new SpannerStatement("SELECT ChatId FROM Chats@{FORCE_INDEX=ChatsByUser} WHERE UserId = @userId LIMIT @limit")
                        .Add("userId", userId).Add("limit", (long)limit),
                    ct))
                .Select(r => r.Get<string>("ChatId"))
                .ToList();
            if (ids.Count == 0)
            {
                return new ChatBatch([], []);
            }

            // Forks of these chats that never finished (ForkChat stopped halfway): owned by nobody, so no range of
            // the user's reaches them, and their fork record goes with the source chat, so nothing would ever
            // resume or delete them. Listed here for their cost and cache keys (one ChatsByForkedFrom lookup per
            // chat); the commit reads them again in its transaction (OwnerlessForks.DeletionsAsync), so one started
            // meanwhile goes too.
            var forks = await OwnerlessForks.OfAsync(reader, ids, ct);
            ids = [.. forks, .. ids];

            var sizes = (await reader.QueryListAsync(
                    new SpannerStatement("SELECT ChatId, COUNT(*) AS Turns, IFNULL(SUM(CandidateCount), 0) AS Candidates FROM Turns WHERE ChatId IN UNNEST(@ids) GROUP BY ChatId")
                        .Add("ids", ids),
                    ct))
                .ToDictionary(r => r.Get<string>("ChatId"), r => ChatCost(r.Get<long>("Turns"), r.Get<long>("Candidates")), StringComparer.Ordinal);
            var chats = ids.Select(id => (id, sizes.GetValueOrDefault(id, ChatCost(0, 0)))).ToList();
            var replies = await RecentRepliesAsync(reader, ids, null, since, ct);
            return new ChatBatch(chats, replies);
        }, cancellationToken);

    /// <summary>One of the user's imports (ChatImports) and, while it is under way, its chat, owned by nobody yet.</summary>
    public sealed record ImportRow(string RequestId, string? OwnerlessChatId, long Cost);

    /// <summary>
    /// The user's next <paramref name="limit"/> imports (their range of ChatImports), each with its chat when that
    /// chat is still ownerless (a half-written import: no ChatsByUser range of the user's reaches it) and what
    /// deleting it costs. A finished import's chat is the user's, deleted with their other chats.
    /// </summary>
    public async Task<IReadOnlyList<ImportRow>> NextImportsAsync(string userId, int limit, CancellationToken cancellationToken) =>
        await spanner.SnapshotAsync(async (reader, ct) =>
        {
            var rows = await reader.QueryListAsync(
                new SpannerStatement(
                        "SELECT i.RequestId, i.ChatId, c.UserId AS ChatUserId FROM ChatImports AS i LEFT JOIN Chats AS c ON c.ChatId = i.ChatId " +
                        "WHERE i.UserId = @userId LIMIT @limit")
                    .Add("userId", userId).Add("limit", (long)limit),
                ct);
            var imports = rows.Select(r => (RequestId: r.Get<string>("RequestId"), ChatId: r.Get<string>("ChatId"), Ownerless: r.Get<string?>("ChatUserId") == "")).ToList();
            var ownerless = imports.Where(i => i.Ownerless).Select(i => i.ChatId).ToList();
            var sizes = await ChatCostsAsync(reader, ownerless, ct);
            return (IReadOnlyList<ImportRow>)imports
                .Select(i => i.Ownerless ? new ImportRow(i.RequestId, i.ChatId, sizes.GetValueOrDefault(i.ChatId, ChatCost(0, 0))) : new ImportRow(i.RequestId, null, 1))
                .ToList();
        }, cancellationToken);

    /// <summary>
    /// Chats nobody owns first committed before <paramref name="cutoff"/>: imports and forks that never finished,
    /// from ChatsByUser's range of the empty user id (an ownerless chat's LastActiveTime is its first commit's, the
    /// commit that wrote its ChatImports row or its fork record; the index orders the range by it, so the read
    /// stops at the cutoff). With <paramref name="cutoff"/> past the records' retention (7 days for both) their
    /// record is expired or gone (reads treat one past its retention as gone), so no retry can write into them any
    /// more; a fork whose source chat was deleted (its record with it) is among them from then on too.
    /// </summary>
    public async Task<IReadOnlyList<(string ChatId, long Cost)>> AbandonedChatsAsync(DateTimeOffset cutoff, int limit, CancellationToken cancellationToken) =>
        await spanner.SnapshotAsync(async (reader, ct) =>
        {
            var ids = (await reader.QueryListAsync(
                    new SpannerStatement(
                            "SELECT ChatId FROM Chats@{FORCE_INDEX=ChatsByUser} WHERE UserId = '' AND LastActiveTime < @cutoff LIMIT @limit")
                        .Add("cutoff", cutoff).Add("limit", (long)limit),
                    ct))
                .Select(r => r.Get<string>("ChatId"))
                .ToList();
            var sizes = await ChatCostsAsync(reader, ids, ct);
            return (IReadOnlyList<(string, long)>)ids.Select(id => (id, sizes.GetValueOrDefault(id, ChatCost(0, 0)))).ToList();
        }, cancellationToken);

    /// <summary>
    /// Deletes ownerless chats (with everything under them) in one commit, those still ownerless when it commits
    /// (one an import finished meanwhile is its user's, and stays). Returns how many it deleted.
    /// </summary>
    public async Task<int> DeleteOwnerlessChatsAsync(IReadOnlyList<string> chatIds, CancellationToken cancellationToken)
    {
        var (deleted, _) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var ownerless = (await tx.QueryListAsync(
                    new SpannerStatement("SELECT ChatId FROM Chats WHERE ChatId IN UNNEST(@ids) AND UserId = ''").Add("ids", chatIds.ToList()), ct))
                .Select(r => r.Get<string>("ChatId"))
                .ToList();
            if (ownerless.Count > 0)
            {
                tx.BufferWrite(SpannerMutation.Delete("Chats", [.. ownerless.Select(id => SpannerKey.Of(id))]));
            }

            return ownerless.Count;
        }, cancellationToken);
        return deleted;
    }

    /// <summary>
    /// Deletes the first turns (with their candidates) of an ownerless chat too big for one commit, whose
    /// deletion costs at most <paramref name="budget"/>; nothing when it is not ownerless any more.
    /// </summary>
    public async Task DeleteOwnerlessTurnsAsync(string chatId, long budget, CancellationToken cancellationToken)
    {
        var (seqs, _) = await FirstTurnsAsync(chatId, budget, DateTimeOffset.MaxValue, cancellationToken);
        if (seqs.Count == 0)
        {
            return;
        }

        await spanner.TransactionAsync(async (tx, ct) =>
        {
            var owner = await tx.QueryListAsync(new SpannerStatement("SELECT UserId FROM Chats WHERE ChatId = @chatId").Add("chatId", chatId), ct);
            if (owner.Count == 1 && owner[0].Get<string>("UserId") == "")
            {
                tx.BufferWrite(SpannerMutation.Delete("Turns", [.. seqs.Select(seq => SpannerKey.Of(chatId, seq))]));
            }

            return 0;
        }, cancellationToken);
    }

    private static async Task<Dictionary<string, long>> ChatCostsAsync(ISpannerReader reader, IReadOnlyList<string> ids, CancellationToken ct)
    {
        if (ids.Count == 0)
        {
            return new Dictionary<string, long>(StringComparer.Ordinal);
        }

        return (await reader.QueryListAsync(
                new SpannerStatement("SELECT ChatId, COUNT(*) AS Turns, IFNULL(SUM(CandidateCount), 0) AS Candidates FROM Turns WHERE ChatId IN UNNEST(@ids) GROUP BY ChatId")
                    .Add("ids", ids.ToList()),
                ct))
            .ToDictionary(r => r.Get<string>("ChatId"), r => ChatCost(r.Get<long>("Turns"), r.Get<long>("Candidates")), StringComparer.Ordinal);
    }

    /// <summary>
    /// Mutations one chat's deletion is counted as, conservatively: the chat row and its two list index
    /// entries, and per turn and per candidate the row and up to three index entries (request-id indexes, the
    /// owed index, the full-text indexes). Spanner counts a cascading delete as one mutation, but its index
    /// entries count too, and the limit (80,000) is the commit's.
    /// </summary>
    public static long ChatCost(long turns, long candidates) => 3 + (4 * (turns + candidates));

    /// <summary>The first turns of a chat too big for one commit, whose deletion (each with its candidates) costs at most <paramref name="budget"/>.</summary>
    public async Task<(IReadOnlyList<long> Seqs, IReadOnlyList<ReplyKey> RecentReplies)> FirstTurnsAsync(
        string chatId, long budget, DateTimeOffset since, CancellationToken cancellationToken) =>
        await spanner.SnapshotAsync(async (reader, ct) =>
        {
            var rows = await reader.QueryListAsync(
                new SpannerStatement("SELECT Seq, CandidateCount FROM Turns WHERE ChatId = @chatId ORDER BY Seq LIMIT @limit")
                    .Add("chatId", chatId).Add("limit", Math.Max(1, budget / 8)),
                ct);
            var seqs = new List<long>();
            var cost = 0L;
            foreach (var row in rows)
            {
                cost += 4 * (1 + row.Get<long>("CandidateCount"));
                if (seqs.Count > 0 && cost > budget)
                {
                    break;
                }

                seqs.Add(row.Get<long>("Seq"));
            }

            var replies = await RecentRepliesAsync(reader, [chatId], seqs, since, ct);
            return ((IReadOnlyList<long>)seqs, replies);
        }, cancellationToken);

    /// <summary>The user's next lorebooks (LorebooksByOwner).</summary>
    public Task<IReadOnlyList<string>> NextLorebooksAsync(string userId, int limit, CancellationToken cancellationToken) =>
        IdsAsync("SELECT LorebookId FROM Lorebooks@{FORCE_INDEX=LorebooksByOwner} WHERE OwnerUserId = @userId LIMIT @limit", userId, limit, cancellationToken);

    /// <summary>The user's next characters, deleted ones too (CharactersByOwner; a scrubbed character has no owner, so it leaves the range).</summary>
    public Task<IReadOnlyList<string>> NextCharactersAsync(string userId, int limit, CancellationToken cancellationToken) =>
        IdsAsync("SELECT CharacterId FROM Characters@{FORCE_INDEX=CharactersByOwner} WHERE OwnerUserId = @userId LIMIT @limit", userId, limit, cancellationToken);

    /// <summary>How many personas the user has (deleted with their overrides as two range deletions).</summary>
    public async Task<long> CountPersonasAsync(string userId, CancellationToken cancellationToken)
    {
        var rows = await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(
            new SpannerStatement("SELECT (SELECT COUNT(*) FROM Personas WHERE UserId = @userId) + (SELECT COUNT(*) FROM PersonaOverrides WHERE UserId = @userId)")
                .Add("userId", userId), ct), cancellationToken);
        return rows[0].Get<long>(0);
    }

    /// <summary>
    /// The mutations that delete lorebooks: each book and its attachments to chats (ChatLorebooksByLorebook; only
    /// its owner's chats can have it attached, but every attachment goes with it).
    /// </summary>
    public static async Task<IReadOnlyList<SpannerMutation>> LorebookDeletionsAsync(ISpannerReader reader, IReadOnlyList<string> ids, CancellationToken ct)
    {
        var attached = await reader.QueryListAsync(
            new SpannerStatement("SELECT ChatId, LorebookId FROM ChatLorebooks@{FORCE_INDEX=ChatLorebooksByLorebook} WHERE LorebookId IN UNNEST(@ids)")
                .Add("ids", ids.ToList()), ct);
        List<SpannerMutation> mutations = [SpannerMutation.Delete("Lorebooks", [.. ids.Select(id => SpannerKey.Of(id))])];
        if (attached.Count > 0)
        {
            mutations.Add(SpannerMutation.Delete("ChatLorebooks", [.. attached.Select(r => SpannerKey.Of(r.Get<string>("ChatId"), r.Get<string>("LorebookId")))]));
        }

        return mutations;
    }

    /// <summary>
    /// The mutations that scrub characters: the row keeps its id, display name, route and visibility, owned by
    /// nobody ("" is never a caller), deleted, with every other text of the author's gone and a new version
    /// (replicas holding a copy read the version before using it, and drop theirs); its catalog rows go, as
    /// DeleteCharacter takes them. Other users' chats with it stay readable and keep replying in its name.
    /// </summary>
    public static async Task<IReadOnlyList<SpannerMutation>> CharacterScrubsAsync(ISpannerReader reader, string userId, IReadOnlyList<string> ids, CancellationToken ct)
    {
        var characters = await CharacterStore.ReadAsync(reader, ids.ToList(), ct);
        var mutations = new List<SpannerMutation>();
        foreach (var character in characters)
        {
            if (character.OwnerUserId != userId)
            {
                // No longer the user's (scrubbed already): nothing to do.
                continue;
            }

            mutations.Add(CatalogEntries.Catalogued(SpannerMutation.Update("Characters"))
                .Set("CharacterId", character.Id)
                .Set("OwnerUserId", "")
                .Set("Persona", "")
                .Set("Greeting", null)
                .Set("Description", null)
                .Set("Personality", null)
                .Set("Scenario", null)
                .Set("ExampleDialogues", null)
                .Set("SystemPrompt", null)
                .Set("PostHistoryInstructions", null)
                .Set("AlternateGreetings", null)
                .Set("CreatorNotes", null)
                .Set("Tags", null)
                .Set("AvatarUrl", null)
                .Set("Creator", null)
                .Set("CharacterVersion", null)
                .Set("CardExtras", null)
                .Set("CardImage", null)
                .Set("Version", character.Version + 1)
                .Set("UpdateTime", SpannerCommitTimestamp.Value)
                .Set("DeleteTime", character.DeleteTime is { } deleted ? deleted : SpannerCommitTimestamp.Value));
            // Every row the character could have, deleted or not (a deleted one has none left; deleting none costs nothing).
            mutations.AddRange(CatalogEntries.Mutations(character with { DeleteTime = null }, after: null));
        }

        return mutations;
    }

    private async Task<IReadOnlyList<string>> IdsAsync(string sql, string userId, int limit, CancellationToken cancellationToken)
    {
        var rows = await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(
            new SpannerStatement(sql).Add("userId", userId).Add("limit", (long)limit), ct), cancellationToken);
        return rows.Select(r => r.Get<string>(0)).ToList();
    }

    /// <summary>
    /// Replies of the chats (of those turns, when given) that may still have an event log: touched since
    /// <paramref name="since"/>, or still owed. Each key's <see cref="ReplyKey.Continuation"/> is the candidate's
    /// last continuation (ContinueReply), so its logs are those of continuations 0 to it.
    /// </summary>
    private static async Task<IReadOnlyList<ReplyKey>> RecentRepliesAsync(
        ISpannerReader reader, IReadOnlyList<string> chatIds, IReadOnlyList<long>? seqs, DateTimeOffset since, CancellationToken ct)
    {
        if (chatIds.Count == 0)
        {
            return [];
        }

        var sql = "SELECT ChatId, Seq, CandidateId, Continuations FROM Candidates WHERE ChatId IN UNNEST(@ids) AND (UpdateTime >= @since OR OwedShard IS NOT NULL)";
        var statement = new SpannerStatement(seqs is null ? sql : sql + " AND Seq IN UNNEST(@seqs)")
            .Add("ids", chatIds.ToList()).Add("since", since);
        if (seqs is not null)
        {
            statement.Add("seqs", seqs.ToList());
        }

        var rows = await reader.QueryListAsync(statement, ct);
        return rows.Select(r => new ReplyKey(r.Get<string>("ChatId"), r.Get<long>("Seq"), r.Get<string>("CandidateId"), (int)(r.Get<long?>("Continuations") ?? 0))).ToList();
    }

    private static SpannerMutation Lease(SpannerMutation mutation, string owner, DateTimeOffset until) => mutation
        .Set("Owner", owner)
        .Set("LeaseUntil", until)
        .Set("UpdateTime", SpannerCommitTimestamp.Value);

    private static async Task<DataDeletionRecord?> ReadAsync(ISpannerReader reader, string userKey, CancellationToken ct)
    {
        var rows = await reader.QueryListAsync(new SpannerStatement($"SELECT {Columns} FROM DataDeletions WHERE UserKey = @key").Add("key", userKey), ct);
        if (rows.Count == 0)
        {
            return null;
        }

        var row = rows[0];
        return new DataDeletionRecord(
            row.Get<string>("UserKey"),
            row.Get<string?>("UserId"),
            row.Get<string>("RequestId"),
            (DataDeletionState)row.Get<long>("State"),
            row.Get<string?>("Owner"),
            row.Get<DateTimeOffset?>("LeaseUntil"),
            row.Get<long>("ChatsDeleted"),
            row.Get<long>("CharactersDeleted"),
            row.Get<long>("PersonasDeleted"),
            row.Get<long>("LorebooksDeleted"),
            row.Get<List<string>?>("PendingCacheKeys") ?? [],
            row.Get<DateTimeOffset>("CreateTime"),
            row.Get<DateTimeOffset>("UpdateTime"),
            row.Get<DateTimeOffset?>("FinishTime"),
            row.Get<long?>("FailedAttempts") ?? 0,
            row.Get<string?>("LastError"),
            row.Get<DateTimeOffset?>("LastErrorTime"));
    }

    /// <summary>A running deletion written under a new key, as it was (the re-key of a record from before schema version 19).</summary>
    private static SpannerMutation Rekeyed(DataDeletionRecord record) => SpannerMutation.Insert("DataDeletions")
        .Set("Owner", record.Owner)
        .Set("LeaseUntil", record.LeaseUntil)
        .Set("UpdateTime", SpannerCommitTimestamp.Value)
        .Set("UserKey", record.UserKey)
        .Set("UserId", record.UserId)
        .Set("RequestId", record.RequestId)
        .Set("State", (long)record.State)
        .Set("ChatsDeleted", record.ChatsDeleted)
        .Set("CharactersDeleted", record.CharactersDeleted)
        .Set("PersonasDeleted", record.PersonasDeleted)
        .Set("LorebooksDeleted", record.LorebooksDeleted)
        .Set("PendingCacheKeys", record.PendingCacheKeys.Count == 0 ? null : record.PendingCacheKeys.ToList())
        .Set("FailedAttempts", record.FailedAttempts)
        .Set("LastError", record.LastError)
        .Set("LastErrorTime", record.LastErrorTime)
        .Set("CreateTime", record.CreateTime);
}
