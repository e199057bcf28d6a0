using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

internal sealed partial class ReplyLedger
{
    // The sweeper's scan of the sparse owed-reply index. The emulator can't tell that the
    // predicate excludes NULL shards; the hint is ignored by Cloud Spanner.
    private const string ExpiredLeasesSelect =
        """
        SELECT ChatId, Seq, CandidateId, CancelRequested, RecoveryAttempts, Continuations
        FROM Candidates@{FORCE_INDEX=OwedReplies, spanner_emulator.disable_query_null_filtered_index_check=true}
        WHERE OwedShard IN UNNEST(@shards) AND LeaseUntil < CURRENT_TIMESTAMP()
        ORDER BY LeaseUntil
        LIMIT @limit
        """;

    public async Task<ClaimResult> ClaimExpiredAsync(int limit, bool allShards, CancellationToken cancellationToken)
    {
        // Each shard is its own range of the sparse index. A sweep scans a random half of them in
        // one query (a single read when nothing is owed, write locks only then), so replicas
        // sweeping at once mostly look at different ranges; expiry is judged by Spanner's clock.
        var shards = Enumerable.Range(0, Options.OwedReplyShards)
            .Where(_ => allShards || Options.OwedReplyShards == 1 || Random.Shared.Next(2) == 0)
            .Select(s => (long)s)
            .ToList();
        SpannerStatement Scan() => new SpannerStatement(ExpiredLeasesSelect)
            .Add("shards", SpannerType.ArrayOf(SpannerType.Int64), shards)
            .Add("limit", (long)limit);

        if ((await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(Scan(), ct), cancellationToken)).Count == 0)
        {
            return ClaimResult.Empty;
        }

        // Spans chats: on a failure the sink hears of every chat the last attempt settled a reply in.
        var ((claimed, primary), written, _) = await commits.RunAsync(null, async (tx, turns, ct) =>
        {
            var claimed = new List<ClaimedReply>();
            var primary = new List<bool>();
            var until = timeProvider.GetUtcNow() + Options.ReplyLease;
            foreach (var row in await tx.QueryListAsync(Scan(), ct))
            {
                var key = new ReplyKey(row.Get<string>("ChatId"), row.Get<long>("Seq"), row.Get<string>("CandidateId"), (int)(row.Get<long?>("Continuations") ?? 0));
                var attempts = row.Get<long?>("RecoveryAttempts") ?? 0;
                (ReplyState State, ReplyFailureCode Code, string Reason)? end = row.Get<bool?>("CancelRequested") == true
                    ? (ReplyState.Cancelled, ReplyFailureCode.Cancelled, "cancelled while the replica generating it was gone")
                    : attempts >= Options.MaxRecoveryAttempts
                        ? (ReplyState.Failed, ReplyFailureCode.RecoveryExhausted, $"generation was interrupted {attempts + 1} times; giving up")
                        : null;
                if (end is not { } settle)
                {
                    tx.BufferWrite(CandidateMutations.Lease(key, Options.ReplicaId, until).Set("RecoveryAttempts", attempts + 1));
                    // The first generation is attempt 1 (no recovery yet); each claim starts the next.
                    claimed.Add(new ClaimedReply(key, (int)attempts + 2));
                    continue;
                }

                var (state, code, reason) = settle;
                var reply = (await ReadCandidateAsync(tx, key.ChatId, key.Seq, key.CandidateId, ct))!;
                // The text it has stays: none for a new reply, the text so far for a continuation (whose
                // appended text is only stored when it settles: one given up on added nothing, so it goes
                // back to its state before the continuation, as SettleReplyAsync does).
                if (await ReadContinuedFromAsync(tx, key, ct) is { } before)
                {
                    SettleOrRestore(turns, reply.Turn, key, before, state, reply.Turn.Text, code, reason, null, added: false);
                }
                else
                {
                    turns.Settle(reply.Turn, state, reply.Turn.Text, code, reason);
                }
                primary.Add(reply.IsPrimary);
            }

            return (claimed, primary);
        }, cancellationToken);

        var settled = written.Select((turn, i) => new SettledReply(turn, primary[i])).ToList();
        foreach (var reply in settled.Where(s => s.IsPrimary))
        {
            await commits.ShownAsync(reply.Reply.ChatId, [reply.Reply]);
        }

        return new ClaimResult(claimed, settled);
    }

    public async Task<LeaseStatus> RenewLeaseAsync(ReplyKey key, CancellationToken cancellationToken) =>
        (await spanner.TransactionAsync(async (tx, ct) =>
        {
            var lease = await ReadLeaseAsync(tx, key, ct);
            if (lease is not { Owner: var owner } || owner != Options.ReplicaId)
            {
                return LeaseStatus.Lost;
            }

            tx.BufferWrite(CandidateMutations.Lease(key, Options.ReplicaId, timeProvider.GetUtcNow() + Options.ReplyLease));
            return lease.Value.CancelRequested ? LeaseStatus.CancelRequested : LeaseStatus.Held;
        }, cancellationToken)).Result;

    public Task ReleaseLeaseAsync(ReplyKey key, CancellationToken cancellationToken) =>
        spanner.TransactionAsync(async (tx, ct) =>
        {
            if ((await ReadLeaseAsync(tx, key, ct))?.Owner == Options.ReplicaId)
            {
                tx.BufferWrite(CandidateMutations.Lease(key, Options.ReplicaId, timeProvider.GetUtcNow()));
            }
        }, cancellationToken);

    /// <summary>Who holds an owed reply's lease, and whether its cancellation was asked for; null once settled.</summary>
    private static async Task<(string? Owner, bool CancelRequested)?> ReadLeaseAsync(SpannerTransaction tx, ReplyKey key, CancellationToken cancellationToken)
    {
        var rows = await tx.QueryListAsync(
            new SpannerStatement("SELECT OwedShard, LeaseOwner, CancelRequested FROM Candidates WHERE ChatId = @chatId AND Seq = @seq AND CandidateId = @candidateId")
                .Add("chatId", key.ChatId).Add("seq", key.Seq).Add("candidateId", key.CandidateId),
            cancellationToken);
        if (rows.Count == 0 || rows[0].IsNull("OwedShard"))
        {
            return null;
        }

        return (rows[0].Get<string?>("LeaseOwner"), rows[0].Get<bool?>("CancelRequested") == true);
    }
}
