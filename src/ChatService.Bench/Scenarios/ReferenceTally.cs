using System.Diagnostics;
using System.Globalization;
using ChatService.Bench.Load;
using HdrHistogram;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// The reference streams (SendMessage on the generating replica) of a follow run: how many replies
/// completed, how long each took, whether their own deltas add up to their completed turn, and the
/// reply-seconds they covered (Accepted to the last event, summed), the denominator of the per
/// reply-second costs. Filled after the streams have ended, on one thread.
/// </summary>
internal sealed class ReferenceTally
{
    private readonly LongHistogram _duration = LatencySummary.NewHistogram();
    private readonly Dictionary<string, long> _problems = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _problemSamples = new(StringComparer.Ordinal);

    public int Replies { get; private set; }

    public int Completed { get; private set; }

    /// <summary>SendMessage calls made again (same request id) after a transient status before Accepted.</summary>
    public int Retried { get; private set; }

    /// <summary>Completed replies whose deltas after the last Restarted are not the completed turn's text.</summary>
    public int TextMismatches { get; private set; }

    /// <summary>Seconds from Accepted to the last event, summed over the replies.</summary>
    public double ReplySeconds { get; private set; }

    public IReadOnlyDictionary<string, long> Problems => _problems;

    public IReadOnlyDictionary<string, string> ProblemSamples => _problemSamples;

    /// <summary>SendMessage call to its last event, for the replies that completed.</summary>
    public LatencySummary Duration => LatencySummary.From(_duration);

    public void Add(ReplyTrace reference)
    {
        Replies++;
        Retried += reference.Retries;
        if (reference.Events.Count > 0)
        {
            ReplySeconds += Stopwatch.GetElapsedTime(reference.Events[0].Timestamp, reference.LastArrival).TotalSeconds;
        }

        if (!reference.Completed)
        {
            var problem = reference.Problem ?? "unknown";
            _problems[problem] = _problems.GetValueOrDefault(problem) + 1;
            _problemSamples.TryAdd(problem, reference.ProblemDetail ?? "");
            return;
        }

        Completed++;
        _duration.RecordValue(LatencySummary.Micros(Stopwatch.GetElapsedTime(reference.CallStarted, reference.LastArrival)));
        TextMismatches += reference.Text() == reference.CompletedTurn!.Text ? 0 : 1;
    }

    /// <summary>One line for the report.</summary>
    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"{Replies} sent: {Completed} completed ({TextMismatches} whose deltas do not add up to the completed turn), not completed {Replies - Completed}" +
        $"{FollowTally.ProblemList(_problems)}; {Retried} calls made again before Accepted; {ReplySeconds:0.0} reply-seconds (Accepted to the last event, summed)");
}
