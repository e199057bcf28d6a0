using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

internal sealed partial class ChatRepository
{
    // The sweeper's scan of one shard of the sparse owed-reply index. The emulator can't tell that
    // the predicate excludes NULL shards; the hint is ignored by Cloud Spanner.
    private const string ExpiredLeasesSelect =
        """
        SELECT ChatId, Seq, CandidateId
        FROM Candidates@{FORCE_INDEX=OwedReplies, spanner_emulator.disable_query_null_filtered_index_check=true}
        WHERE OwedShard IN UNNEST(@shards) AND LeaseUntil < @now
        ORDER BY LeaseUntil
        LIMIT @limit
        """;

    public async Task<IReadOnlyList<ReplyKey>> ClaimExpiredAsync(int limit, CancellationToken cancellationToken)
    {
        // Each shard is its own range of the sparse index; scanning them in one query keeps the
        // sweep to a single read when nothing is owed, and only then takes write locks.
        var shards = Enumerable.Range(0, Options.OwedReplyShards).Select(s => (long)s).ToList();
        SpannerStatement Scan() => new SpannerStatement(ExpiredLeasesSelect)
            .Add("shards", SpannerType.ArrayOf(SpannerType.Int64), shards)
            .Add("now", timeProvider.GetUtcNow())
            .Add("limit", (long)limit);

        if ((await database.QueryListAsync(Scan(), cancellationToken: cancellationToken)).Count == 0)
        {
            return [];
        }

        return await database.RunInTransactionAsync<IReadOnlyList<ReplyKey>>(async (tx, ct) =>
        {
            var rows = await tx.QueryListAsync(Scan(), ct);
            var claimed = rows.Select(r => new ReplyKey(r.Get<string>("ChatId"), r.Get<long>("Seq"), r.Get<string>("CandidateId"))).ToList();
            var until = timeProvider.GetUtcNow() + Options.ReplyLease;
            foreach (var key in claimed)
            {
                tx.BufferWrite(LeaseMutation(key, Options.ReplicaId, until));
            }

            return claimed;
        }, cancellationToken);
    }

    public Task<bool> RenewLeaseAsync(ReplyKey key, CancellationToken cancellationToken) =>
        database.RunInTransactionAsync(async (tx, ct) =>
        {
            if (!await HoldsLeaseAsync(tx, key, ct))
            {
                return false;
            }

            tx.BufferWrite(LeaseMutation(key, Options.ReplicaId, timeProvider.GetUtcNow() + Options.ReplyLease));
            return true;
        }, cancellationToken);

    public Task ReleaseLeaseAsync(ReplyKey key, CancellationToken cancellationToken) =>
        database.RunInTransactionAsync(async (tx, ct) =>
        {
            if (await HoldsLeaseAsync(tx, key, ct))
            {
                tx.BufferWrite(LeaseMutation(key, Options.ReplicaId, timeProvider.GetUtcNow()));
            }

            return true;
        }, cancellationToken);

    private async Task<bool> HoldsLeaseAsync(SpannerTransaction tx, ReplyKey key, CancellationToken cancellationToken)
    {
        var rows = await tx.QueryListAsync(
            new SpannerStatement("SELECT OwedShard, LeaseOwner FROM Candidates WHERE ChatId = @chatId AND Seq = @seq AND CandidateId = @candidateId")
                .Add("chatId", key.ChatId).Add("seq", key.Seq).Add("candidateId", key.CandidateId),
            cancellationToken);
        return rows.Count == 1 && !rows[0].IsNull("OwedShard") && rows[0].Get<string?>("LeaseOwner") == Options.ReplicaId;
    }

    private static SpannerMutation LeaseMutation(ReplyKey key, string owner, DateTimeOffset until) =>
        SpannerMutation.Update("Candidates")
            .Set("ChatId", key.ChatId)
            .Set("Seq", key.Seq)
            .Set("CandidateId", key.CandidateId)
            .Set("LeaseOwner", owner)
            .Set("LeaseUntil", until);
}
