using System.Runtime.CompilerServices;
using Grpc.Core;

namespace Spanner.Client.Internal;

/// <summary>Runs ExecuteStreamingSql and yields the rows the <see cref="PartialResultSetMerger"/> assembles.</summary>
internal sealed class QueryStreamer(SpannerRpc rpc, SpannerClientStatistics statistics)
{
    public async IAsyncEnumerable<SpannerRow> StreamAsync(
        V1.ExecuteSqlRequest request, bool routeToLeader, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        statistics.RecordQuery();
        using var call = rpc.ExecuteStreamingSql(request, routeToLeader, cancellationToken);
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
                throw RpcErrors.Translate(ex, cancellationToken);
            }

            if (!more)
            {
                break;
            }

            merger.Add(call.ResponseStream.Current, rows);
            foreach (var row in rows)
            {
                statistics.RecordRowRead();
                yield return row;
            }

            rows.Clear();
        }

        merger.Complete();
    }
}
