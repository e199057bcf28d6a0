using System.Diagnostics.Metrics;

namespace ChatService.Memory;

/// <summary>The summary job's instruments. Recording never throws.</summary>
internal static class SummaryMetrics
{
    public const string MeterName = "ChatService.Memory";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Runs = Meter.CreateCounter<long>(
        "chat.summary.runs", unit: "{run}", description: "Summary job runs, by outcome (stored, covered, covered_in_redis, not_claimed, exhausted, lease_unknown, lost, failed, error).");

    private static readonly Counter<long> Dropped = Meter.CreateCounter<long>(
        "chat.summary.dropped", unit: "{trigger}", description: "Summary triggers dropped because this replica's job queue was full.");

    private static readonly Counter<long> Commits = Meter.CreateCounter<long>(
        "chat.summary.commits", unit: "{commit}", description: "Read-write transactions the summary job committed (stored summaries, failures, leftover failed jobs' rows): the job's Spanner commits, reported apart from the replies'.");

    private static readonly Counter<long> Stored = Meter.CreateCounter<long>(
        "chat.summary.stored", unit: "{summary}", description: "Summaries stored (one commit each); the chat's cached window takes each in place (chat.cache.summary_windows).");

    public static void Committed() => Commits.Add(1);

    public static void SummaryStored() => Stored.Add(1);

    public static void Run(string outcome) => Runs.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public static void TriggerDropped() => Dropped.Add(1);
}
