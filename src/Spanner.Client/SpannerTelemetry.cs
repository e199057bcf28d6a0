namespace Spanner.Client;

/// <summary>
/// Names under which the client reports, for registering it with OpenTelemetry (or any
/// <see cref="System.Diagnostics.ActivityListener"/> / <see cref="System.Diagnostics.Metrics.MeterListener"/>).
/// </summary>
public static class SpannerTelemetry
{
    /// <summary>
    /// The <see cref="System.Diagnostics.Metrics.Meter"/>: counters <c>spanner.client.commits</c>, <c>reads</c>,
    /// <c>queries</c>, <c>aborts</c>, <c>retries</c> (process-wide totals) and the histograms
    /// <c>spanner.client.rpc.duration</c> (seconds, by method and status) and <c>spanner.client.commit.mutations</c>
    /// (what each commit attempt sends, recorded as its Commit RPC is sent, so an attempt that is aborted and
    /// retried counts once per attempt; counted as Spanner counts it short of secondary index columns, so a
    /// batching writer can be checked against Spanner's 80,000 a commit).
    /// </summary>
    public const string MeterName = "Spanner.Client";

    /// <summary>
    /// The <see cref="System.Diagnostics.ActivitySource"/>: a span per Spanner RPC (<c>spanner.Commit</c>,
    /// <c>spanner.BeginTransaction</c>, <c>spanner.ExecuteSql</c>, <c>spanner.ExecuteStreamingSql</c>, ...) and a
    /// <c>spanner.transaction</c> span around each read-write transaction with its aborted attempts.
    /// </summary>
    public const string ActivitySourceName = "Spanner.Client";
}
