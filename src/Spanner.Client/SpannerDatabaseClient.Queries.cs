using System.Runtime.CompilerServices;
using Grpc.Core;
using Spanner.Client.Internal;

namespace Spanner.Client;

public sealed partial class SpannerDatabaseClient
{
    private const int MaxQueryAttempts = 5;

    /// <summary>
    /// Streams the rows of a single-use read-only query (strong unless <paramref name="bound"/> says otherwise).
    /// UNAVAILABLE and a lost session are retried transparently as long as no row has been yielded yet.
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
                await using var rows = _queries.StreamAsync(request, routeToLeader: false, cancellationToken).GetAsyncEnumerator(cancellationToken);
                while (true)
                {
                    try
                    {
                        if (!await rows.MoveNextAsync())
                        {
                            break;
                        }
                    }
                    catch (SpannerException ex) when (!yielded && attempt < MaxQueryAttempts && (ex.IsSessionNotFound || ex.Code == StatusCode.Unavailable))
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
            if (retry.Code == StatusCode.Unavailable)
            {
                await Task.Delay(_retryPolicy.Backoff(attempt), _time, cancellationToken);
            }
        }
    }

    /// <summary>Runs a single-use read-only query and returns all its rows; see <see cref="QueryAsync"/>.</summary>
    public async Task<List<SpannerRow>> QueryListAsync(SpannerStatement statement, TimestampBound? bound = null, CancellationToken cancellationToken = default) =>
        await QueryAsync(statement, bound, cancellationToken).ToListAsync(cancellationToken);
}
