using System.Runtime.CompilerServices;
using Grpc.Core;

namespace Spanner.Client.Internal;

/// <summary>Runs ExecuteStreamingSql and yields the rows the <see cref="PartialResultSetMerger"/> assembles.</summary>
internal sealed class QueryStreamer(SpannerRpc rpc, SpannerClientStatistics statistics, TimeProvider time)
{
    private const string Method = "ExecuteStreamingSql";

    /// <param name="request">The query, with its session and transaction selector set.</param>
    /// <param name="routeToLeader">Whether the query runs in a read-write transaction (Spanner routes those to the leader).</param>
    /// <param name="transactionKind">single_use, read_only or read_write: the span's spanner.transaction.kind.</param>
    /// <param name="cancellationToken">Cancels the stream.</param>
    public async IAsyncEnumerable<SpannerRow> StreamAsync(
        V1.ExecuteSqlRequest request, bool routeToLeader, string transactionKind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        statistics.RecordQuery();
        using var activity = SpannerTracing.StartRpc(Method, rpc.DatabasePath, request.Sql);
        SpannerTracing.SetTag(activity, "spanner.transaction.kind", transactionKind);
        var started = time.GetTimestamp();
        var status = StatusCode.OK;
        var rowCount = 0L;
        try
        {
            AsyncServerStreamingCall<V1.PartialResultSet> call;
            try
            {
                call = rpc.ExecuteStreamingSql(request, routeToLeader, cancellationToken);
            }
            catch (SpannerException ex)
            {
                status = ex.StatusCode;
                SpannerTracing.Failed(activity, ex);
                throw;
            }

            using (call)
            {
                var merger = new PartialResultSetMerger();
                var rows = new List<SpannerRow>();
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await call.ResponseStream.MoveNext(cancellationToken);
                    }
                    catch (RpcException ex)
                    {
                        status = ex.StatusCode;
                        var translated = RpcErrors.Translate(ex, cancellationToken);
                        SpannerTracing.Failed(activity, translated);
                        throw translated;
                    }

                    if (!more)
                    {
                        break;
                    }

                    merger.Add(call.ResponseStream.Current, rows);
                    foreach (var row in rows)
                    {
                        statistics.RecordRowRead();
                        rowCount++;
                        yield return row;
                    }

                    rows.Clear();
                }

                merger.Complete();
            }
        }
        finally
        {
            SpannerTracing.SetTag(activity, "spanner.rows", rowCount);
            SpannerMetrics.RecordRpc(Method, status, time.GetElapsedTime(started));
        }
    }
}
