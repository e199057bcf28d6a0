using System.Globalization;
using ChatService.Chats;
using Microsoft.Extensions.Options;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// Writes the catalog rows of the characters marked pending (<c>Characters.CatalogPending</c>, see
/// 0007_catalog_backfill_queue.sql): those that existed when schema version 7 was applied, and those a
/// replica of an earlier release creates during a rolling update. It never holds up readiness: every
/// replica starts it once the schema is applied, and each round first looks at the pending index (one
/// small read, empty in steady state). The character ids are cut into <see cref="Partitions"/> ranges
/// by their first character, each with a lease of its own (a <c>JobLeases</c> row): a partition is
/// worked by the one replica holding its lease, another takes over when it lapses, and up to
/// <see cref="Partitions"/> replicas share a large backfill. The index is the job's checkpoint: a
/// catalogued character leaves it in the commit that writes its rows, so a run that stops anywhere
/// resumes with what is left, and a character written twice gets the same rows.
/// The rounds run in <see cref="CatalogBackfillJob"/>.
/// </summary>
internal sealed partial class CatalogBackfill(
    SpannerGateway spanner,
    IOptions<ChatOptions> options,
    TimeProvider timeProvider,
    ILogger<CatalogBackfill> logger)
{
    /// <summary>The job's rows in <c>JobLeases</c> are this, a slash and the partition (0-f).</summary>
    internal const string JobName = "catalog-backfill";

    /// <summary>
    /// Partitions of the character ids, by first character: ids are lowercase UUIDs, so the hex digits
    /// cut them evenly; partition <c>p</c> holds the ids from the digit <c>p</c> (from the start, for 0)
    /// to the next one (to the end, for f), so any id falls in exactly one.
    /// </summary>
    internal const int Partitions = 16;

    /// <summary>Pending characters read per round; a commit takes as many of them as its mutation budget allows.</summary>
    internal const int CharactersPerRound = 100;

    /// <summary>
    /// Most mutations one commit of the job may make, half of Spanner's limit (80,000 per commit). A
    /// character with every term it may have (2 × <see cref="CharacterSearch.MaxTerms"/> rows, about
    /// 33,000 mutations) still fits alone, so a commit always makes progress.
    /// </summary>
    internal const int MutationBudget = 40_000;

    /// <summary>
    /// Mutations a catalog row costs, as Spanner counts them: its six columns, and the entries of its two
    /// indexes (four and three columns, plus the key), rounded up.
    /// </summary>
    internal const int MutationsPerRow = 16;

    /// <summary>
    /// Catalogs pending characters until none is left in the partitions whose lease this replica gets,
    /// taken in a random order so replicas running at once spread over them. Returns how many characters
    /// it catalogued.
    /// </summary>
    internal async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        if ((await PendingAsync(partition: null, limit: 1, cancellationToken)).Count == 0)
        {
            return 0;
        }

        var partitions = Enumerable.Range(0, Partitions).ToArray();
        Random.Shared.Shuffle(partitions);
        var total = 0;
        foreach (var partition in partitions)
        {
            try
            {
                total += await RunPartitionAsync(partition, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // One partition's trouble does not hold up the others; it is tried again next round.
                Log.PartitionFailed(logger, partition, ex);
            }
        }

        return total;
    }

    private async Task<int> RunPartitionAsync(int partition, CancellationToken cancellationToken)
    {
        var pending = await PendingAsync(partition, CharactersPerRound, cancellationToken);
        if (pending.Count == 0 || !await TryTakeLeaseAsync(partition, cancellationToken))
        {
            return 0;
        }

        var total = 0;
        try
        {
            Log.Started(logger, partition, options.Value.ReplicaId);
            while (pending.Count > 0)
            {
                var done = await CatalogAsync(partition, pending, cancellationToken);
                if (done < 0)
                {
                    Log.LeaseLost(logger, partition, total);
                    return total;
                }

                if (done == 0)
                {
                    // Found in the index, gone by the transaction (catalogued by another commit): the next round looks again.
                    return total;
                }

                total += done;
                pending = await PendingAsync(partition, CharactersPerRound, cancellationToken);
            }

            Log.CaughtUp(logger, partition, total);
            return total;
        }
        finally
        {
            await ReleaseLeaseAsync(partition);
        }
    }

    /// <summary>The ids of up to <paramref name="limit"/> pending characters of <paramref name="partition"/> (null: any), from the pending index alone.</summary>
    private Task<List<string>> PendingAsync(int? partition, int limit, CancellationToken cancellationToken)
    {
        var statement = new SpannerStatement(
                "SELECT CharacterId FROM Characters@{FORCE_INDEX=CharactersByCatalogPending, spanner_emulator.disable_query_null_filtered_index_check=true} " +
                "WHERE CatalogPending = TRUE" +
                (partition is { } p && p > 0 ? " AND CharacterId >= @from" : "") +
                (partition is { } q && q < Partitions - 1 ? " AND CharacterId < @to" : "") +
                " LIMIT @limit")
            .Add("limit", (long)limit);
        if (partition is { } first)
        {
            statement.Add("from", first.ToString("x", CultureInfo.InvariantCulture));
            statement.Add("to", (first + 1).ToString("x", CultureInfo.InvariantCulture));
        }

        return spanner.ReadAsync(async (reader, ct) => (await reader.QueryListAsync(statement, ct))
                .Select(r => r.Get<string>("CharacterId"))
                .ToList(),
            cancellationToken);
    }

    /// <summary>
    /// One commit: renews the lease and catalogs as many of <paramref name="ids"/> (those still pending,
    /// read again in the transaction, so a character changed meanwhile gets the rows of what it is now)
    /// as fit <see cref="MutationBudget"/>. Returns how many it catalogued, or -1 when the lease is another
    /// replica's now (nothing written).
    /// </summary>
    private async Task<int> CatalogAsync(int partition, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var (done, _) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var lease = await ReadLeaseAsync(tx, partition, ct);
            if (lease is not { } held || held.Owner != options.Value.ReplicaId)
            {
                return -1;
            }

            var stillPending = (await tx.QueryListAsync(
                    new SpannerStatement("SELECT CharacterId FROM Characters WHERE CharacterId IN UNNEST(@ids) AND CatalogPending = TRUE")
                        .Add("ids", SpannerType.ArrayOf(SpannerType.String), ids.ToList()),
                    ct))
                .Select(r => r.Get<string>("CharacterId"))
                .ToList();
            var characters = await CharacterStore.ReadAsync(tx, stillPending, ct);
            var batch = Pack(characters.Select(c => (Character: c, Rows: CatalogEntries.Mutations(before: null, after: c))).ToList());
            foreach (var (character, rows) in batch)
            {
                foreach (var row in rows)
                {
                    tx.BufferWrite(row);
                }

                tx.BufferWrite(CatalogEntries.Catalogued(SpannerMutation.Update("Characters").Set("CharacterId", character.Id)));
            }

            tx.BufferWrite(LeaseMutation(partition, options.Value.ReplicaId, timeProvider.GetUtcNow() + options.Value.CatalogBackfillLease, held.Done + batch.Count));
            return batch.Count;
        }, cancellationToken);
        return done;
    }

    /// <summary>
    /// The first characters whose rows fit <see cref="MutationBudget"/> together (at least one: a single
    /// character's rows always fit), in the order given.
    /// </summary>
    internal static List<(Character Character, IReadOnlyList<SpannerMutation> Rows)> Pack(
        IReadOnlyList<(Character Character, IReadOnlyList<SpannerMutation> Rows)> candidates)
    {
        var batch = new List<(Character, IReadOnlyList<SpannerMutation>)>();
        var used = 0;
        foreach (var candidate in candidates)
        {
            // Its rows, and the update that clears its mark (two columns and its pending index entry).
            var cost = (candidate.Rows.Count * MutationsPerRow) + 3;
            if (batch.Count > 0 && used + cost > MutationBudget)
            {
                break;
            }

            batch.Add(candidate);
            used += cost;
        }

        return batch;
    }

    /// <summary>Takes the lease when no replica holds it (none ever did, or its holder's lapsed), or renews this replica's.</summary>
    private async Task<bool> TryTakeLeaseAsync(int partition, CancellationToken cancellationToken)
    {
        var (taken, _) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var now = timeProvider.GetUtcNow();
            var lease = await ReadLeaseAsync(tx, partition, ct);
            if (lease is { } held && held.Owner != options.Value.ReplicaId && held.ExpireTime > now)
            {
                return false;
            }

            tx.BufferWrite(LeaseMutation(partition, options.Value.ReplicaId, now + options.Value.CatalogBackfillLease, lease?.Done ?? 0));
            return true;
        }, cancellationToken);
        return taken;
    }

    /// <summary>Lets the lease lapse now, if this replica still holds it, so another replica need not wait for it; best effort.</summary>
    private async Task ReleaseLeaseAsync(int partition)
    {
        try
        {
            // Not cancelled with the service: a stopping replica should still hand the job over.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await spanner.TransactionAsync(async (tx, ct) =>
            {
                if (await ReadLeaseAsync(tx, partition, ct) is { } held && held.Owner == options.Value.ReplicaId)
                {
                    tx.BufferWrite(LeaseMutation(partition, held.Owner, timeProvider.GetUtcNow(), held.Done));
                }
            }, timeout.Token);
        }
        catch (Exception ex)
        {
            // It lapses on its own.
            Log.ReleaseFailed(logger, ex);
        }
    }

    /// <summary>The <c>JobLeases</c> row of <paramref name="partition"/>.</summary>
    internal static string LeaseName(int partition) => $"{JobName}/{partition:x}";

    private static async Task<JobLease?> ReadLeaseAsync(ISpannerReader reader, int partition, CancellationToken cancellationToken)
    {
        var rows = await reader.QueryListAsync(
            new SpannerStatement("SELECT Owner, ExpireTime, Done FROM JobLeases WHERE Job = @job").Add("job", LeaseName(partition)),
            cancellationToken);
        return rows.Count == 0
            ? null
            : new JobLease(rows[0].Get<string>("Owner"), rows[0].Get<DateTimeOffset>("ExpireTime"), rows[0].Get<long>("Done"));
    }

    private static SpannerMutation LeaseMutation(int partition, string owner, DateTimeOffset expireTime, long done) =>
        SpannerMutation.InsertOrUpdate("JobLeases")
            .Set("Job", LeaseName(partition))
            .Set("Owner", owner)
            .Set("ExpireTime", expireTime)
            .Set("Done", done)
            .Set("UpdateTime", SpannerCommitTimestamp.Value);

    /// <summary>A partition's lease as stored: who holds it, until when, and how many characters the job has catalogued in it in all.</summary>
    internal sealed record JobLease(string Owner, DateTimeOffset ExpireTime, long Done);

    private static partial class Log
    {
        [LoggerMessage(1111, LogLevel.Information, "Catalog backfill: characters without catalog rows found in partition {Partition}; replica {Replica} took it.")]
        public static partial void Started(ILogger logger, int partition, string replica);

        [LoggerMessage(1112, LogLevel.Information, "Catalog backfill of partition {Partition} caught up: {Count} character(s) catalogued in this run, none pending.")]
        public static partial void CaughtUp(ILogger logger, int partition, int count);

        [LoggerMessage(1113, LogLevel.Warning, "Catalog backfill: another replica holds the lease of partition {Partition} now (this replica's lapsed); stopping after {Count} character(s).")]
        public static partial void LeaseLost(ILogger logger, int partition, int count);

        [LoggerMessage(1116, LogLevel.Warning, "Catalog backfill of partition {Partition} failed; retrying at the next round.")]
        public static partial void PartitionFailed(ILogger logger, int partition, Exception exception);

        [LoggerMessage(1115, LogLevel.Debug, "Catalog backfill: releasing the lease failed; it lapses on its own.")]
        public static partial void ReleaseFailed(ILogger logger, Exception exception);
    }
}
