using System.Runtime.CompilerServices;
using Spanner.Client.Internal;

namespace Spanner.Client;

public sealed partial class SpannerDatabaseClient
{
    private const int MaxQueryAttempts = 5;

    /// <summary>
    /// Streams the rows of a single-use read-only query (strong unless <paramref name="bound"/> says otherwise).
    /// A lost session and transient failures (<see cref="SpannerException.IsRetryable"/>, bar ABORTED) are retried
    /// transparently as long as no row has been yielded yet.
    /// </summary>
    public async IAsyncEnumerable<SpannerRow> QueryAsync(
        SpannerStatement statement, TimestampBound? bound = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statement);
        var readOnly = (bound ?? TimestampBound.Strong).ToProto();
        Statistics.RecordSingleUseRead();
        for (var attempt = 1; ; attempt++)
        {
            var session = await _pool.AcquireAsync(cancellationToken);
            SpannerException? retry = null;
            var lost = false;
            try
            {
                var request = new V1.ExecuteSqlRequest
                {
                    Session = session.Name,
                    Transaction = new V1.TransactionSelector { SingleUse = new V1.TransactionOptions { ReadOnly = readOnly.Clone() } },
                };
                statement.ApplyTo(request);
                var yielded = false;
                await using var rows = _queries.StreamAsync(request, routeToLeader: false, "single_use", cancellationToken).GetAsyncEnumerator(cancellationToken);
                while (true)
                {
                    try
                    {
                        if (!await rows.MoveNextAsync())
                        {
                            break;
                        }
                    }
                    catch (SpannerException ex) when (!yielded && attempt < MaxQueryAttempts && (ex.IsSessionNotFound || ex.IsTransient))
                    {
                        retry = ex;
                        break;
                    }
                    catch (SpannerException ex) when (ex.IsSessionNotFound)
                    {
                        lost = true;
                        throw;
                    }

                    yielded = true;
                    yield return rows.Current;
                }
            }
            finally
            {
                _pool.Release(session, discard: lost || retry?.IsSessionNotFound == true);
            }

            if (retry is null)
            {
                yield break;
            }

            Statistics.RecordRetry();
            Log.QueryRetried(_logger, retry.Message);
            if (!retry.IsSessionNotFound)
            {
                await Task.Delay(_retryPolicy.NextDelay(retry, attempt), _time, cancellationToken);
            }
        }
    }

    /// <summary>Runs a single-use read-only query and returns all its rows; see <see cref="QueryAsync"/>.</summary>
    public async Task<List<SpannerRow>> QueryListAsync(SpannerStatement statement, TimestampBound? bound = null, CancellationToken cancellationToken = default) =>
        await QueryAsync(statement, bound, cancellationToken).ToListAsync(cancellationToken);

    /// <summary>A strong single-use query: the database's latest data.</summary>
    IAsyncEnumerable<SpannerRow> ISpannerReader.QueryAsync(SpannerStatement statement, CancellationToken cancellationToken) =>
        QueryAsync(statement, bound: null, cancellationToken);

    /// <summary>A strong single-use query: the database's latest data.</summary>
    Task<List<SpannerRow>> ISpannerReader.QueryListAsync(SpannerStatement statement, CancellationToken cancellationToken) =>
        QueryListAsync(statement, bound: null, cancellationToken);
}
