using System.Runtime.CompilerServices;
using Grpc.Core;

namespace Spanner.Client.Internal;

/// <summary>Runs ExecuteStreamingSql and yields the rows the <see cref="PartialResultSetMerger"/> assembles.</summary>
internal sealed class QueryStreamer(SpannerRpc rpc, SpannerClientStatistics statistics, TimeProvider time)
{
    private const string Method = "ExecuteStreamingSql";

    public async IAsyncEnumerable<SpannerRow> StreamAsync(
        V1.ExecuteSqlRequest request, bool routeToLeader, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        statistics.RecordQuery();
        using var activity = SpannerTracing.StartRpc(Method, rpc.DatabasePath, request.Sql);
        SpannerTracing.SetTag(activity, "spanner.transaction.kind", request.Transaction?.SingleUse is not null ? "single_use" : "read_write");
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
                status = ex.Code;
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
