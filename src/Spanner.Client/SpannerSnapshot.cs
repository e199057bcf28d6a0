using System.Runtime.CompilerServices;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Spanner.Client.Internal;

namespace Spanner.Client;

/// <summary>
/// A read-only transaction: every query sees the database as of one timestamp, <see cref="ReadTimestamp"/>,
/// whatever commits meanwhile. It takes no locks, so it never aborts and never blocks writers. Created by
/// <see cref="SpannerDatabaseClient.BeginSnapshotAsync"/>; it holds a pooled session until disposed, so dispose
/// it (<c>await using</c>) once its reads are done.
/// </summary>
public sealed class SpannerSnapshot : ISpannerReader, IAsyncDisposable
{
    private const int MaxQueryAttempts = 5;

    private readonly SessionPool _pool;
    private readonly PooledSession _session;
    private readonly QueryStreamer _queries;
    private readonly RetryPolicy _retryPolicy;
    private readonly SpannerClientStatistics _statistics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ByteString _id;
    private volatile bool _sessionLost;
    private int _disposed;

    internal SpannerSnapshot(
        SessionPool pool, PooledSession session, QueryStreamer queries, RetryPolicy retryPolicy, SpannerClientStatistics statistics,
        TimeProvider time, ILogger logger, ByteString id, DateTimeOffset readTimestamp)
    {
        _pool = pool;
        _session = session;
        _queries = queries;
        _retryPolicy = retryPolicy;
        _statistics = statistics;
        _time = time;
        _logger = logger;
        _id = id;
        ReadTimestamp = readTimestamp;
    }

    /// <summary>The timestamp every read of this snapshot sees: all commits up to it, none after.</summary>
    public DateTimeOffset ReadTimestamp { get; }

    /// <summary>
    /// Streams the rows of a query at <see cref="ReadTimestamp"/>. Transient failures before the first row are
    /// retried: the snapshot's data cannot change, so a rerun returns the same rows.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The snapshot was disposed.</exception>
    /// <exception cref="SpannerException">The query failed.</exception>
    public async IAsyncEnumerable<SpannerRow> QueryAsync(SpannerStatement statement, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statement);
        for (var attempt = 1; ; attempt++)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            var request = new V1.ExecuteSqlRequest { Session = _session.Name, Transaction = new V1.TransactionSelector { Id = _id } };
            statement.ApplyTo(request);
            SpannerException? retry = null;
            var yielded = false;
            await using (var rows = _queries.StreamAsync(request, routeToLeader: false, "read_only", cancellationToken).GetAsyncEnumerator(cancellationToken))
            {
                while (true)
                {
                    try
                    {
                        if (!await rows.MoveNextAsync())
                        {
                            break;
                        }
                    }
                    catch (SpannerException ex) when (!yielded && attempt < MaxQueryAttempts && ex.IsTransient)
                    {
                        retry = ex;
                        break;
                    }
                    catch (SpannerException ex) when (ex.IsSessionNotFound)
                    {
                        // The transaction lived in that session: it is gone too, and the session must not be pooled.
                        _sessionLost = true;
                        throw;
                    }

                    // Disposed while the caller held a row: the session is back in the pool and may
                    // carry someone else's transaction, so no further row is read from it.
                    ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
                    yielded = true;
                    yield return rows.Current;
                }
            }

            if (retry is null)
            {
                yield break;
            }

            _statistics.RecordRetry();
            Log.QueryRetried(_logger, retry.Message);
            await Task.Delay(_retryPolicy.NextDelay(retry, attempt), _time, cancellationToken);
        }
    }

    /// <summary>Runs a query at <see cref="ReadTimestamp"/> and returns all its rows; see <see cref="QueryAsync"/>.</summary>
    public async Task<List<SpannerRow>> QueryListAsync(SpannerStatement statement, CancellationToken cancellationToken = default) =>
        await QueryAsync(statement, cancellationToken).ToListAsync(cancellationToken);

    /// <summary>
    /// Returns the session to the pool. A read-only transaction needs no commit or rollback: it ends when its
    /// session begins another. Call it after the snapshot's queries have finished.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _pool.Release(_session, discard: _sessionLost);
        }

        return ValueTask.CompletedTask;
    }
}
