using System.Diagnostics;
using System.Globalization;
using ChatService.Api.V1;
using ChatService.Bench.Infrastructure;
using ChatService.Bench.Load;
using HdrHistogram;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// One reply of the follow scenario's cancel part: the sender's stream on A, and the CancelReply call
/// on B made once that stream had its deltas (<paramref name="Called"/> and <paramref name="Returned"/>
/// on the bench's one clock; both null when the reply was never cancelled).
/// </summary>
/// <param name="Reference">The SendMessage stream on A.</param>
/// <param name="Called">When CancelReply was called on B; null when the stream ended (or was never accepted) before its deltas.</param>
/// <param name="Returned">When CancelReply returned; null when it was not called or failed.</param>
/// <param name="Turn">What CancelReply returned.</param>
/// <param name="CallProblem">The status CancelReply failed with (<c>CODE: detail</c>).</param>
internal sealed record CancelledReply(ReplyTrace Reference, long? Called, long? Returned, Turn? Turn, string? CallProblem);

/// <summary>
/// What the cancel part measured, per reply: from the CancelReply call on B to the last delta A's
/// stream delivered (A stops; A's final Failed event when no delta came after the call), to A's
/// Failed CANCELLED event (the partial text is stored), and to CancelReply's return; and whether the
/// reply ended CANCELLED with one text everywhere: A's deltas, A's final turn and CancelReply's turn.
/// Filled after the streams have ended, on one thread.
/// </summary>
internal sealed class CancelTally(int deltasBeforeCancel)
{
    private readonly LongHistogram _stopped = LatencySummary.NewHistogram();
    private readonly LongHistogram _stored = LatencySummary.NewHistogram();
    private readonly LongHistogram _returned = LatencySummary.NewHistogram();
    private readonly Dictionary<string, long> _problems = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _problemSamples = new(StringComparer.Ordinal);

    public int Replies { get; private set; }

    /// <summary>Replies whose CancelReply was called (their stream had its deltas and was still open).</summary>
    public int Called { get; private set; }

    /// <summary>Replies whose stream on A ended with Failed CANCELLED and whose CancelReply returned a CANCELLED turn.</summary>
    public int Cancelled { get; private set; }

    /// <summary>Cancelled replies whose texts differ: A's deltas, A's final turn, CancelReply's turn.</summary>
    public int TextMismatches { get; private set; }

    /// <summary>Cancelled replies with one text everywhere.</summary>
    public int Correct { get; private set; }

    /// <summary>Delta events A's streams delivered after their CancelReply call, summed; and the most for one reply.</summary>
    public long DeltasAfterCall { get; private set; }

    public int MostDeltasAfterCall { get; private set; }

    public string? TextMismatchSample { get; private set; }

    /// <summary>Replies that did not end as they should, by why (e.g. <c>A's stream Completed</c>, <c>CancelReply Unavailable</c>).</summary>
    public IReadOnlyDictionary<string, long> Problems => _problems;

    public IReadOnlyDictionary<string, string> ProblemSamples => _problemSamples;

    /// <summary>CancelReply call to A's last delta after it, or to A's Failed CANCELLED event when none came.</summary>
    public LatencySummary Stopped => LatencySummary.From(_stopped);

    /// <summary>CancelReply call to A's Failed CANCELLED event: the partial text is stored.</summary>
    public LatencySummary Stored => LatencySummary.From(_stored);

    /// <summary>CancelReply call to its return on B.</summary>
    public LatencySummary Returned => LatencySummary.From(_returned);

    public void Add(CancelledReply reply)
    {
        Replies++;
        var reference = reply.Reference;
        if (reply.Called is not { } called)
        {
            AddProblem($"not cancelled: A's stream {reference.Problem ?? "Completed"} before {deltasBeforeCancel} deltas", reference.ProblemDetail ?? "");
            return;
        }

        Called++;
        if (reply.Returned is { } returned)
        {
            _returned.RecordValue(LatencySummary.Micros(Stopwatch.GetElapsedTime(called, returned)));
        }
        else
        {
            AddProblem("CancelReply failed", reply.CallProblem ?? "");
        }

        var stoppedOnA = reference.Failure is { Code: "CANCELLED" };
        if (stoppedOnA)
        {
            var final = reference.LastArrival;
            var afterCall = reference.Events.Where(e => e.Kind == ReplyEvent.EventOneofCase.Delta && e.Timestamp > called).ToList();
            DeltasAfterCall += afterCall.Count;
            MostDeltasAfterCall = Math.Max(MostDeltasAfterCall, afterCall.Count);
            _stopped.RecordValue(LatencySummary.Micros(Stopwatch.GetElapsedTime(called, afterCall.Count > 0 ? afterCall[^1].Timestamp : final)));
            _stored.RecordValue(LatencySummary.Micros(Stopwatch.GetElapsedTime(called, final)));
        }
        else
        {
            AddProblem($"A's stream {reference.Problem ?? "Completed"} after CancelReply", reference.ProblemDetail ?? "");
        }

        if (reply.Turn is { } turn && turn.State != TurnState.Cancelled)
        {
            AddProblem($"CancelReply returned {turn.State}", turn.FailureReason);
        }

        if (!stoppedOnA || reply.Turn is not { State: TurnState.Cancelled })
        {
            return;
        }

        Cancelled++;
        var deltas = reference.Text();
        var stored = reference.Failure!.Turn?.Text ?? "";
        if (deltas == stored && deltas == reply.Turn.Text)
        {
            Correct++;
            return;
        }

        TextMismatches++;
        TextMismatchSample ??= string.Create(CultureInfo.InvariantCulture,
            $"A's deltas add up to {deltas.Length} chars, A's final turn has {stored.Length}, CancelReply's turn {reply.Turn.Text.Length}");
    }

    /// <summary>
    /// The cancel part as a run of the report: CancelReply calls that returned, per second, and their
    /// latency (call to return), with the A-stops and stored latencies as its further ones.
    /// </summary>
    public LoadResult Run(string name, int callers, double seconds, string stoppedMetric, string storedMetric, CpuSplit cpu) =>
        new(name, callers, _returned.TotalCount, Math.Round(seconds, 3), Math.Round(_returned.TotalCount / seconds, 1), Returned,
            _problems, _problemSamples, new Dictionary<string, LatencySummary>(StringComparer.Ordinal) { [stoppedMetric] = Stopped, [storedMetric] = Stored }, cpu);

    /// <summary>One line for the report: outcomes and checks.</summary>
    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"{Replies} replies, {Called} cancelled on B after {deltasBeforeCancel} deltas on A: {Cancelled} ended CANCELLED on A with CancelReply returning CANCELLED, " +
        $"{Correct} with CancelReply's text = A's deltas = A's final turn; text mismatches {TextMismatches}, not cancelled {Replies - Cancelled}" +
        $"{FollowTally.ProblemList(_problems)}; {DeltasAfterCall} delta events reached A's streams after the CancelReply call (at most {MostDeltasAfterCall} for one reply)");

    /// <summary><c>p50 / p90 / p99 / max</c> of one of the latencies, in ms, and how many replies it has.</summary>
    public static string Percentiles(LatencySummary latency) => string.Create(CultureInfo.InvariantCulture,
        $"p50 {latency.P50:0.###} / p90 {latency.P90:0.###} / p99 {latency.P99:0.###} / max {latency.Max:0.###} ms over {latency.Count} replies");

    private void AddProblem(string kind, string detail)
    {
        _problems[kind] = _problems.GetValueOrDefault(kind) + 1;
        _problemSamples.TryAdd(kind, detail);
    }
}
