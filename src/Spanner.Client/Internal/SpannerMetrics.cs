using System.Diagnostics.Metrics;
using Grpc.Core;

namespace Spanner.Client.Internal;

/// <summary>
/// The client's process-wide instruments. The counters are observed process totals rather than
/// pushed increments: the hot path is one interlocked add, and every counter is exported from the
/// first scrape on (0 until its first event), so rates and ratios never see a missing series.
/// Recording never throws: metrics must not break a write.
/// </summary>
internal static class SpannerMetrics
{
    private static readonly Meter Meter = new(SpannerTelemetry.MeterName);
    private static readonly Histogram<double> RpcDuration = Meter.CreateHistogram<double>(
        "spanner.client.rpc.duration", unit: "s", description: "Duration of Spanner RPCs (streaming ones until the stream ends), by method and status.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

    private static readonly Histogram<long> CommitMutations = Meter.CreateHistogram<long>(
        "spanner.client.commit.mutations", unit: "{mutation}",
        description: "Mutations each commit attempt sends (a Commit RPC; an attempt Spanner aborts and the client retries counts again), counted as Spanner counts them short of secondary index columns: each column value of each row written, each key or range deleted.",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 10, 100, 1_000, 5_000, 10_000, 20_000, 40_000, 60_000, 80_000] });

    private static long s_commits;
    private static long s_reads;
    private static long s_queries;
    private static long s_aborts;
    private static long s_retries;

    static SpannerMetrics()
    {
        Meter.CreateObservableCounter("spanner.client.commits", () => Volatile.Read(ref s_commits), unit: "{commit}",
            description: "Committed read-write transactions (including blind writes).");
        Meter.CreateObservableCounter("spanner.client.reads", () => Volatile.Read(ref s_reads), unit: "{read}",
            description: "Single-use read-only queries (reads outside any transaction), once per call whatever its retries.");
        Meter.CreateObservableCounter("spanner.client.queries", () => Volatile.Read(ref s_queries), unit: "{query}",
            description: "ExecuteSql and ExecuteStreamingSql calls, in and out of transactions.");
        Meter.CreateObservableCounter("spanner.client.aborts", () => Volatile.Read(ref s_aborts), unit: "{abort}",
            description: "ABORTED errors received; each one reran its transaction or gave up.");
        Meter.CreateObservableCounter("spanner.client.retries", () => Volatile.Read(ref s_retries), unit: "{retry}",
            description: "Operations retried: aborted transactions, transient UNAVAILABLE errors, lost sessions.");
    }

    public static void RecordCommit() => Interlocked.Increment(ref s_commits);

    public static void RecordRead() => Interlocked.Increment(ref s_reads);

    public static void RecordAbort() => Interlocked.Increment(ref s_aborts);

    public static void RecordQuery() => Interlocked.Increment(ref s_queries);

    public static void RecordRetry() => Interlocked.Increment(ref s_retries);

    /// <summary>Records what a commit of <paramref name="mutations"/> sends (see the instrument's description).</summary>
    public static void RecordCommitMutations(IReadOnlyList<V1.Mutation> mutations)
    {
        try
        {
            if (CommitMutations.Enabled)
            {
                CommitMutations.Record(Count(mutations));
            }
        }
        catch (Exception)
        {
            // A faulty listener must never fail a Spanner operation.
        }
    }

    /// <summary>The mutations of a commit short of index entries: a write's columns times its rows, a delete's keys and ranges.</summary>
    internal static long Count(IReadOnlyList<V1.Mutation> mutations)
    {
        long count = 0;
        foreach (var mutation in mutations)
        {
            var write = mutation.Insert ?? mutation.Update ?? mutation.InsertOrUpdate ?? mutation.Replace;
            count += write is not null
                ? (long)write.Columns.Count * write.Values.Count
                : mutation.Delete is { } delete ? delete.KeySet.Keys.Count + delete.KeySet.Ranges.Count + (delete.KeySet.All ? 1 : 0) : 0;
        }

        return count;
    }

    public static void RecordRpc(string method, StatusCode status, TimeSpan elapsed)
    {
        try
        {
            RpcDuration.Record(
                elapsed.TotalSeconds,
                new KeyValuePair<string, object?>("rpc.method", method),
                new KeyValuePair<string, object?>("rpc.grpc.status_code", (int)status));
        }
        catch (Exception)
        {
            // A faulty listener must never fail a Spanner operation.
        }
    }
}
