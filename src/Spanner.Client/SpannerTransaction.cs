using System.Runtime.CompilerServices;
using Google.Protobuf;
using Spanner.Client.Internal;

namespace Spanner.Client;

/// <summary>
/// One attempt of a read-write transaction, handed to the work of
/// <see cref="SpannerDatabaseClient.RunInTransactionAsync{T}"/>. Reads see the transaction's own DML; buffered
/// mutations are sent with the commit. Valid only while the work runs.
/// </summary>
public sealed class SpannerTransaction : ISpannerReader
{
    private readonly SpannerRpc _rpc;
    private readonly QueryStreamer _queries;
    private readonly SpannerClientStatistics _statistics;
    private readonly string _session;
    private readonly ByteString _id;
    private readonly List<SpannerMutation> _mutations = [];
    private long _seqno;
    private volatile bool _closed;

    internal SpannerTransaction(SpannerRpc rpc, QueryStreamer queries, SpannerClientStatistics statistics, string session, ByteString id)
    {
        _rpc = rpc;
        _queries = queries;
        _statistics = statistics;
        _session = session;
        _id = id;
    }

    /// <summary>
    /// The commit timestamp; null until the transaction has committed, so always null while the work runs. Callers
    /// get it from <see cref="SpannerDatabaseClient.RunInTransactionWithCommitTimestampAsync{T}"/> or the no-result
    /// <see cref="SpannerDatabaseClient.RunInTransactionAsync(Func{SpannerTransaction, CancellationToken, Task}, CancellationToken)"/>.
    /// </summary>
    public DateTimeOffset? CommitTimestamp { get; private set; }

    /// <summary>Streams the rows of a query run inside this transaction (it takes read locks).</summary>
    public async IAsyncEnumerable<SpannerRow> QueryAsync(SpannerStatement statement, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statement);
        ThrowIfClosed();
        await foreach (var row in _queries.StreamAsync(CreateRequest(statement), routeToLeader: true, "read_write", cancellationToken))
        {
            yield return row;
        }
    }

    /// <summary>Runs a query inside this transaction and returns all its rows.</summary>
    public async Task<List<SpannerRow>> QueryListAsync(SpannerStatement statement, CancellationToken cancellationToken = default) =>
        await QueryAsync(statement, cancellationToken).ToListAsync(cancellationToken);

    /// <summary>Runs an INSERT/UPDATE/DELETE statement and returns the number of rows it changed.</summary>
    public async Task<long> ExecuteDmlAsync(SpannerStatement statement, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statement);
        ThrowIfClosed();
        var request = CreateRequest(statement);
        // Spanner needs a per-transaction, increasing sequence number on DML to make replays idempotent.
        request.Seqno = Interlocked.Increment(ref _seqno);
        _statistics.RecordQuery();
        var result = await _rpc.ExecuteSqlAsync(request, routeToLeader: true, cancellationToken);
        return result.Stats?.RowCountExact ?? 0;
    }

    /// <summary>Buffers a mutation; it is applied when the transaction commits.</summary>
    public void BufferWrite(SpannerMutation mutation)
    {
        ArgumentNullException.ThrowIfNull(mutation);
        ThrowIfClosed();
        lock (_mutations)
        {
            _mutations.Add(mutation);
        }
    }

    internal List<V1.Mutation> TakeMutations()
    {
        lock (_mutations)
        {
            return _mutations.Select(m => m.ToProto()).ToList();
        }
    }

    internal void Committed(DateTimeOffset commitTimestamp)
    {
        CommitTimestamp = commitTimestamp;
        _closed = true;
    }

    internal void Close() => _closed = true;

    private V1.ExecuteSqlRequest CreateRequest(SpannerStatement statement)
    {
        var request = new V1.ExecuteSqlRequest
        {
            Session = _session,
            Transaction = new V1.TransactionSelector { Id = _id },
        };
        statement.ApplyTo(request);
        return request;
    }

    private void ThrowIfClosed()
    {
        if (_closed)
        {
            throw new InvalidOperationException(
                "This transaction attempt has ended; use the SpannerTransaction passed to the current run of the work.");
        }
    }
}
