using Spanner.Client.Internal;

namespace Spanner.Client;

/// <summary>
/// Live counters of one <see cref="SpannerDatabaseClient"/>. The same events are also recorded on the
/// process-wide meter named <see cref="SpannerTelemetry.MeterName"/> (counters spanner.client.commits / reads / aborts / queries / retries).
/// </summary>
public sealed class SpannerClientStatistics
{
    private long _commits;
    private long _aborts;
    private long _queries;
    private long _rowsRead;
    private long _sessionsCreated;
    private long _transactions;
    private long _singleUseReads;
    private long _snapshots;

    /// <summary>Successful commits (read-write transactions and <see cref="SpannerDatabaseClient.WriteAsync"/>).</summary>
    public long Commits => Volatile.Read(ref _commits);

    /// <summary>ABORTED errors received (from queries, DML or commit); each one caused a retry or gave up.</summary>
    public long Aborts => Volatile.Read(ref _aborts);

    /// <summary>ExecuteSql / ExecuteStreamingSql calls made for callers, in and out of transactions (not keep-alive pings).</summary>
    public long Queries => Volatile.Read(ref _queries);

    /// <summary>
    /// Single-use read-only queries (<see cref="SpannerDatabaseClient.QueryAsync"/>): reads outside any
    /// transaction, counted once per call whatever its retries. A snapshot's queries count in <see cref="Queries"/> only.
    /// </summary>
    public long SingleUseReads => Volatile.Read(ref _singleUseReads);

    /// <summary>Read-only transactions (snapshots) begun; their queries count in <see cref="Queries"/>, not in <see cref="SingleUseReads"/>.</summary>
    public long Snapshots => Volatile.Read(ref _snapshots);

    /// <summary>Rows returned to callers.</summary>
    public long RowsRead => Volatile.Read(ref _rowsRead);

    /// <summary>Sessions created on the server.</summary>
    public long SessionsCreated => Volatile.Read(ref _sessionsCreated);

    /// <summary>Read-write transactions begun (every attempt counts, so retries show here too).</summary>
    public long Transactions => Volatile.Read(ref _transactions);

    internal void RecordCommit()
    {
        Interlocked.Increment(ref _commits);
        SpannerMetrics.RecordCommit();
    }

    internal void RecordAbort()
    {
        Interlocked.Increment(ref _aborts);
        SpannerMetrics.RecordAbort();
    }

    internal void RecordQuery()
    {
        Interlocked.Increment(ref _queries);
        SpannerMetrics.RecordQuery();
    }

    internal void RecordSingleUseRead()
    {
        Interlocked.Increment(ref _singleUseReads);
        SpannerMetrics.RecordRead();
    }

    internal void RecordSnapshot() => Interlocked.Increment(ref _snapshots);

    internal void RecordRetry() => SpannerMetrics.RecordRetry();

    internal void RecordRowRead() => Interlocked.Increment(ref _rowsRead);

    internal void RecordSessionsCreated(int count) => Interlocked.Add(ref _sessionsCreated, count);

    internal void RecordTransactionBegun() => Interlocked.Increment(ref _transactions);
}
