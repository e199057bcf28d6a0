using System.Globalization;
using ChatService.Bench.Infrastructure;
using ChatService.Bench.Reporting;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// What one follow window cost (see <see cref="FollowCostMeter"/>), reported per delta event that B
/// delivered and per reply-second (a reply generating for one second).
/// </summary>
/// <param name="Seconds">Wall time of the window, while the streams ran.</param>
/// <param name="Cpu">The machine's CPU split over the window; its service column is A and B together.</param>
/// <param name="BCpuSeconds">CPU seconds B used in the window.</param>
/// <param name="A">A's service metrics over the window (and until its replies settled).</param>
/// <param name="B">B's service metrics over the window.</param>
/// <param name="Redis">The Redis Cluster primaries over the window (and until A's replies settled).</param>
/// <param name="OwedAtEnd">Replies A still owed when the counters were read (0 unless settling took too long).</param>
internal sealed record FollowCost(double Seconds, CpuSplit Cpu, double BCpuSeconds, MetricsDelta A, MetricsDelta B, RedisCost Redis, double OwedAtEnd)
{
    /// <summary>The service's log of a reply's events (issue 12): counters such as <c>chat.reply_log.appends</c> in meter <c>ChatService.Dispatch</c>.</summary>
    public const string ReplyLogMetricPrefix = "chat_reply_log_";

    /// <summary>The counter of appends to a reply's log, as Prometheus names it (<c>_total</c> follows).</summary>
    public const string AppendsMetricPrefix = "chat_reply_log_appends";

    /// <summary>The Redis command that appends to a reply's log (a stream): the fallback count of appends.</summary>
    public const string AppendCommand = "xadd";

    private const int TopCommands = 8;

    /// <summary>Adds the figures under <paramref name="label"/>; <paramref name="deltasOnB"/> are the delta events B's followers received.</summary>
    public void AddTo(BenchReport report, string label, long deltasOnB, double replySeconds)
    {
        report.Figure($"{label}: B's CPU", string.Create(CultureInfo.InvariantCulture,
            $"{BCpuSeconds:0.00} CPU-s over {Seconds:0.0} s ({BCpuSeconds / Seconds:0.00} cores); {deltasOnB} delta events relayed by B: " +
            $"{Per(deltasOnB, BCpuSeconds, "0")} per second per B core"));
        var spanner = string.Create(CultureInfo.InvariantCulture,
            $"{B["spanner_client_reads_total"]:0} single-use reads, {B["spanner_client_queries_total"]:0} queries, {B["spanner_client_commits_total"]:0} commits");
        report.Figure($"{label}: Spanner on B (service metrics)", B.Has("spanner_client_reads_total") ? spanner : spanner + " (B exports no spanner_client_* counters)");

        var total = Redis.TotalCalls;
        var top = string.Join(", ", Redis.MostCalled(TopCommands).Select(c => string.Create(CultureInfo.InvariantCulture,
            $"{c.Key} {c.Value} ({Per(c.Value, deltasOnB, "0.00")}/delta)")));
        report.Figure($"{label}: Redis primaries, commands (INFO commandstats)", string.Create(CultureInfo.InvariantCulture,
            $"{total} calls: {Per(total, deltasOnB, "0.00")} per delta delivered by B, {Per(total, replySeconds, "0.0")} per reply-second; most called: {(top.Length > 0 ? top : "none")}"));
        report.Figure($"{label}: Redis primaries, CPU (INFO cpu, sys + user)", string.Create(CultureInfo.InvariantCulture,
            $"{Redis.CpuSeconds:0.000} s: {Per(Redis.CpuSeconds * 1e6, deltasOnB, "0.0")} µs per delta delivered by B, {Per(Redis.CpuSeconds * 1e3, replySeconds, "0.00")} ms per reply-second"));
        ReportReplyLog(report, label, replySeconds);

        if (!Redis.SamePrimaries)
        {
            report.Notes.Add($"{label}: the Redis primaries changed during the window (a failover); its Redis figures mix nodes.");
        }

        if (OwedAtEnd > 0)
        {
            report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"{label}: A still owed {OwedAtEnd:0} replies when the counters were read; their settling is not all in the figures."));
        }
    }

    /// <summary>Appends per reply-second from the service's reply-log counters when it has them, else from the Redis append command.</summary>
    private void ReportReplyLog(BenchReport report, string label, double replySeconds)
    {
        var names = A.NamesStartingWith(ReplyLogMetricPrefix).Union(B.NamesStartingWith(ReplyLogMetricPrefix)).Order(StringComparer.Ordinal).ToList();
        string Deltas(MetricsDelta replica) =>
            string.Join(", ", names.Where(replica.Has).Select(n => string.Create(CultureInfo.InvariantCulture, $"{n} +{replica[n]:0}")));
        report.Figure($"{label}: {ReplyLogMetricPrefix}* (service metrics)", names.Count == 0
            ? "none exported"
            : $"A: {Deltas(A)}; B: {Deltas(B)}");

        var appendCounters = names.Where(n => n.StartsWith(AppendsMetricPrefix, StringComparison.Ordinal)).ToList();
        if (appendCounters.Count > 0)
        {
            var appends = appendCounters.Sum(n => A[n] + B[n]);
            report.Figure($"{label}: reply log appends per reply-second", string.Create(CultureInfo.InvariantCulture,
                $"{Per(appends, replySeconds, "0.0")} ({string.Join(" + ", appendCounters)} on A and B: {appends:0} over {replySeconds:0.0} reply-seconds)"));
            return;
        }

        var calls = Redis.CallsOf(AppendCommand);
        report.Figure($"{label}: reply log appends per reply-second", string.Create(CultureInfo.InvariantCulture,
            $"{Per(calls, replySeconds, "0.0")} ({AppendCommand} calls on the primaries: {calls} over {replySeconds:0.0} reply-seconds; no {AppendsMetricPrefix}* counter)"));
        const string note = $"Reply log appends: the service exports no {AppendsMetricPrefix}* counter, so they are counted as the Redis primaries' " +
            $"{AppendCommand} calls (INFO commandstats), which counts an {AppendCommand} run inside a script as well.";
        if (!report.Notes.Contains(note))
        {
            report.Notes.Add(note);
        }
    }

    /// <summary><paramref name="value"/> / <paramref name="per"/> formatted, or <c>n/a</c> when there is nothing to divide by.</summary>
    private static string Per(double value, double per, string format) =>
        per > 0 ? (value / per).ToString(format, CultureInfo.InvariantCulture) : "n/a";
}
