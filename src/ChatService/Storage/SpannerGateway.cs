using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// The stores' only way to Spanner. Each read, snapshot, transaction and write runs its work through
/// here, and any Spanner error leaving it comes out as a <see cref="StorageException"/>; so a new store
/// method cannot let a client error escape by forgetting to translate it. Translation happens outside the
/// client's transaction runner, which still sees (and retries) the raw ABORTED errors of the work.
/// </summary>
internal sealed class SpannerGateway(SpannerDatabaseClient database)
{
    /// <summary>Runs single reads (each a strong read of its own) against the database.</summary>
    public Task<T> ReadAsync<T>(Func<ISpannerReader, CancellationToken, Task<T>> read, CancellationToken cancellationToken) =>
        TranslateAsync(() => read(database, cancellationToken));

    /// <summary>Runs reads that must agree with each other in one read-only snapshot, disposed afterwards.</summary>
    public Task<T> SnapshotAsync<T>(Func<ISpannerReader, CancellationToken, Task<T>> read, CancellationToken cancellationToken) =>
        TranslateAsync(async () =>
        {
            await using var snapshot = await database.BeginSnapshotAsync(cancellationToken: cancellationToken);
            return await read(snapshot, cancellationToken);
        });

    /// <summary>Runs reads in one read-only snapshot of the database as it was at <paramref name="timestamp"/> (within Spanner's version retention, an hour by default).</summary>
    public Task<T> SnapshotAtAsync<T>(DateTimeOffset timestamp, Func<ISpannerReader, CancellationToken, Task<T>> read, CancellationToken cancellationToken) =>
        TranslateAsync(async () =>
        {
            await using var snapshot = await database.BeginSnapshotAsync(TimestampBound.ReadTimestamp(timestamp), cancellationToken);
            return await read(snapshot, cancellationToken);
        });

    /// <summary>Runs <paramref name="work"/> in a read-write transaction (rerun on ABORTED by the client) and returns its commit timestamp too.</summary>
    public Task<(T Result, DateTimeOffset CommitTimestamp)> TransactionAsync<T>(
        Func<SpannerTransaction, CancellationToken, Task<T>> work, CancellationToken cancellationToken) =>
        TranslateAsync(() => database.RunInTransactionWithCommitTimestampAsync(work, cancellationToken));

    /// <summary>Runs <paramref name="work"/>, which has no result, in a read-write transaction; returns the commit timestamp.</summary>
    public Task<DateTimeOffset> TransactionAsync(Func<SpannerTransaction, CancellationToken, Task> work, CancellationToken cancellationToken) =>
        TranslateAsync(() => database.RunInTransactionAsync(work, cancellationToken));

    /// <summary>Commits <paramref name="mutations"/> atomically; returns the commit timestamp.</summary>
    public Task<DateTimeOffset> WriteAsync(IEnumerable<SpannerMutation> mutations, CancellationToken cancellationToken) =>
        TranslateAsync(() => database.WriteAsync(mutations, cancellationToken));

    private static async Task<T> TranslateAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (SpannerException ex)
        {
            throw SpannerErrors.ToStorage(ex);
        }
    }
}
