using System.Globalization;
using ChatService.Bench.Reporting;
using ChatService.Testing;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// Where a reply's time before its first delta goes, stage by stage: the service's
/// <c>chat.reply.stage.duration</c> histogram (<c>Dispatch:StageTimings</c>), its buckets' deltas over a run,
/// as medians interpolated within a bucket (20 µs wide below 3 ms). Stages compare with each other in the
/// same run, whatever the machine's load.
/// </summary>
internal static class StageBreakdown
{
    public const string Setting = "Dispatch:StageTimings";

    private const string Metric = "chat_reply_stage_duration_milliseconds_bucket";

    /// <summary>In path order: the API's, then the worker's, then the whole.</summary>
    private static readonly string[] Stages =
    [
        "accepted_written", "worker_started", "window_read", "definitions_read", "context_loaded", "prompt_built",
        "attempt_started", "first_token", "first_delta_published", "first_delta_written", "accepted_to_first_delta",
    ];

    /// <summary>
    /// The worker's own stages from the reply's opening to its first delta written: all but the API's
    /// <c>accepted_written</c> (alongside them), the backend's <c>first_token</c> and the whole.
    /// </summary>
    private static readonly string[] ServiceStages = [.. Stages.Except(["accepted_written", "first_token", "accepted_to_first_delta"])];

    public static void Report(BenchReport report, int callers, MetricsScrape before, MetricsScrape after)
    {
        var earlier = before.Series(Metric).ToDictionary(s => s.Labels, s => s.Value, StringComparer.Ordinal);
        var parts = new List<string>();
        var medians = new Dictionary<string, double>(StringComparer.Ordinal);
        long replies = 0;
        foreach (var stage in Stages)
        {
            var buckets = after.Series(Metric)
                .Where(s => s.Labels.Contains($"stage=\"{stage}\"", StringComparison.Ordinal))
                .Select(s => (Le: UpperBound(s.Labels), Count: s.Value - earlier.GetValueOrDefault(s.Labels)))
                .OrderBy(b => b.Le)
                .ToList();
            if (buckets.Count == 0 || buckets[^1].Count <= 0)
            {
                continue;
            }

            replies = Math.Max(replies, (long)buckets[^1].Count);
            medians[stage] = Quantile(buckets, 0.5);
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{stage} {medians[stage]:0.000} (p90 {Quantile(buckets, 0.9):0.00})"));
        }

        if (parts.Count > 0)
        {
            report.Figure($"stages before the first delta at {callers} callers, ms p50 (service, {replies} replies)", string.Join("; ", parts));
            // A sum of medians is not the median of sums: it says where the time goes, not what one reply took.
            report.Figure($"the service's own stages before the first delta at {callers} callers, their p50s added up (worker_started to first_delta_written, all but first_token)",
                string.Create(CultureInfo.InvariantCulture, $"{ServiceStages.Sum(medians.GetValueOrDefault):0.000} ms"));
        }
    }

    private static double UpperBound(string labels)
    {
        var at = labels.IndexOf("le=\"", StringComparison.Ordinal) + 4;
        var value = labels[at..labels.IndexOf('"', at)];
        return value == "+Inf" ? double.PositiveInfinity : double.Parse(value, CultureInfo.InvariantCulture);
    }

    /// <summary>The quantile from cumulative bucket counts, linear within its bucket (the last finite bound for the +Inf bucket).</summary>
    private static double Quantile(List<(double Le, double Count)> buckets, double q)
    {
        var target = buckets[^1].Count * q;
        var (lower, below) = (0.0, 0.0);
        foreach (var (le, count) in buckets)
        {
            if (count >= target)
            {
                return double.IsPositiveInfinity(le) || count == below ? lower : lower + ((le - lower) * (target - below) / (count - below));
            }

            (lower, below) = (le, count);
        }

        return lower;
    }
}
