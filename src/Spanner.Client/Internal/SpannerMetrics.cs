using System.Diagnostics.Metrics;

namespace Spanner.Client.Internal;

/// <summary>The client's process-wide instruments. Recording never throws: metrics must not break a write.</summary>
internal static class SpannerMetrics
{
    public const string MeterName = "Spanner.Client";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Commits = Meter.CreateCounter<long>("spanner.client.commits", description: "Committed read-write transactions.");
    private static readonly Counter<long> Aborts = Meter.CreateCounter<long>("spanner.client.aborts", description: "ABORTED errors received.");
    private static readonly Counter<long> Queries = Meter.CreateCounter<long>("spanner.client.queries", description: "ExecuteSql and ExecuteStreamingSql calls.");
    private static readonly Counter<long> Retries = Meter.CreateCounter<long>("spanner.client.retries", description: "Operations retried (aborted transactions, transient errors, lost sessions).");

    public static void RecordCommit() => Add(Commits);

    public static void RecordAbort() => Add(Aborts);

    public static void RecordQuery() => Add(Queries);

    public static void RecordRetry() => Add(Retries);

    private static void Add(Counter<long> counter)
    {
        try
        {
            counter.Add(1);
        }
        catch (Exception)
        {
            // A faulty listener must never fail a Spanner operation.
        }
    }
}
