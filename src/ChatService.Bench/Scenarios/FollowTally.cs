using System.Diagnostics;
using System.Globalization;
using ChatService.Bench.Load;
using HdrHistogram;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// What one path's followers (StreamReply on the sending replica, or on another) saw of each reply,
/// against the reply's reference stream (the sender's SendMessage): the delay of every event they
/// share (follower arrival - reference arrival, same sequence), whether the follower got exactly the
/// reference's sequences, and whether its deltas after the last Restarted add up to the completed
/// turn's text. Filled after the streams have ended, on one thread.
/// </summary>
internal sealed class FollowTally(string path)
{
    private readonly LongHistogram _delay = LatencySummary.NewHistogram();
    private readonly Dictionary<string, long> _problems = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _problemSamples = new(StringComparer.Ordinal);

    /// <summary>Where the followers called, e.g. <c>StreamReply on B</c>.</summary>
    public string Path { get; } = path;

    /// <summary>Followers that called StreamReply.</summary>
    public int Followers { get; private set; }

    /// <summary>Followers never started: their reply's send was not accepted.</summary>
    public int NotStarted { get; private set; }

    /// <summary>Every follower the run meant to start.</summary>
    public int Planned => Followers + NotStarted;

    /// <summary>Followers whose stream ended with Completed.</summary>
    public int Completed { get; private set; }

    /// <summary>Completed followers whose sequences differ from the reference's (after the follower's after_sequence).</summary>
    public int SequenceMismatches { get; private set; }

    /// <summary>Completed followers whose text is not the completed turn's.</summary>
    public int TextMismatches { get; private set; }

    /// <summary>Completed followers with the reference's sequences and the completed turn's text.</summary>
    public int Correct { get; private set; }

    /// <summary>Delta events the followers received.</summary>
    public long Deltas { get; private set; }

    /// <summary>Events that reached a follower before the reference (counted as 0 ms in the delay).</summary>
    public long EarlierThanReference { get; private set; }

    public string? SequenceMismatchSample { get; private set; }

    public string? TextMismatchSample { get; private set; }

    /// <summary>Followers that did not complete, by why (<c>Failed CODE</c>, a gRPC status).</summary>
    public IReadOnlyDictionary<string, long> Problems => _problems;

    public IReadOnlyDictionary<string, string> ProblemSamples => _problemSamples;

    public LatencySummary Delay => LatencySummary.From(_delay);

    public void AddNotStarted(int count) => NotStarted += count;

    public void Add(ReplyTrace reference, ReplyTrace follower, long afterSequence)
    {
        Followers++;
        Deltas += follower.Deltas;
        var referenceArrivals = reference.ArrivalsBySequence;
        foreach (var e in follower.Events)
        {
            if (referenceArrivals.TryGetValue(e.Sequence, out var referenceArrival))
            {
                var delay = Stopwatch.GetElapsedTime(referenceArrival, e.Timestamp);
                EarlierThanReference += delay < TimeSpan.Zero ? 1 : 0;
                _delay.RecordValue(LatencySummary.Micros(delay));
            }
        }

        if (!follower.Completed)
        {
            var problem = follower.Problem ?? "unknown";
            _problems[problem] = _problems.GetValueOrDefault(problem) + 1;
            _problemSamples.TryAdd(problem, follower.ProblemDetail ?? "");
            return;
        }

        Completed++;
        var sequencesMatch = follower.SequencesAfter(afterSequence).SequenceEqual(reference.SequencesAfter(afterSequence));
        if (!sequencesMatch)
        {
            SequenceMismatches++;
            SequenceMismatchSample ??= $"reference {Ranges(reference.SequencesAfter(afterSequence))}, follower {Ranges(follower.SequencesAfter(afterSequence))}";
        }

        // The completed turn is the sender's when it completed; the follower's own Completed must agree with it.
        var expected = reference.CompletedTurn?.Text ?? follower.CompletedTurn!.Text;
        var text = follower.Text();
        var textMatches = text == expected && follower.CompletedTurn!.Text == expected;
        if (!textMatches)
        {
            TextMismatches++;
            TextMismatchSample ??= string.Create(CultureInfo.InvariantCulture,
                $"deltas add up to {text.Length} chars, the follower's Completed turn has {follower.CompletedTurn!.Text.Length}, the sender's {expected.Length}");
        }

        Correct += sequencesMatch && textMatches ? 1 : 0;
    }

    /// <summary>One line for the report: outcomes and checks.</summary>
    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"{Followers} followers{(NotStarted > 0 ? $" of {Planned} (the others' sends were never accepted)" : "")}: {Completed} completed, {Correct} with exactly the sender's sequences and the completed turn's text; " +
        $"sequence mismatches {SequenceMismatches}, text mismatches {TextMismatches}, not completed {Followers - Completed}{ProblemList(_problems)}; " +
        $"{Deltas} delta events delivered; {EarlierThanReference} events reached the follower before the sender");

    /// <summary><c> (Unavailable 2, Failed CANCELLED 1)</c>, or nothing when there are none.</summary>
    internal static string ProblemList(IReadOnlyDictionary<string, long> problems) =>
        problems.Count == 0 ? "" : $" ({string.Join(", ", problems.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key} {p.Value}")))})";

    /// <summary>Sequences as ranges, e.g. <c>2-41</c> or <c>2-4, 9</c>.</summary>
    private static string Ranges(IEnumerable<long> sequences)
    {
        var ranges = new List<string>();
        long? first = null, last = null;
        foreach (var s in sequences)
        {
            if (last is { } l && s == l + 1)
            {
                last = s;
                continue;
            }

            if (first is not null)
            {
                ranges.Add(Range(first.Value, last!.Value));
            }

            first = last = s;
        }

        if (first is not null)
        {
            ranges.Add(Range(first.Value, last!.Value));
        }

        return ranges.Count == 0 ? "none" : string.Join(", ", ranges);
    }

    private static string Range(long first, long last) =>
        first == last ? first.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{first}-{last}");
}
