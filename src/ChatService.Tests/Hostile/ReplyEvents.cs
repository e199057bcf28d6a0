using ChatService.Api.V1;

namespace ChatService.Tests.Hostile;

/// <summary>What every reply stream must look like, however it was cut short.</summary>
internal static class ReplyEvents
{
    /// <summary>
    /// <paramref name="StartsWithAccepted"/>: SendMessage, Regenerate and ContinueChat open with
    /// Accepted (sequence 1; a ContinueReply with its continuation's first). <paramref name="AfterSequence"/>: StreamReply sends only later events.
    /// </summary>
    /// <paramref name="Continuation"/>: the request is a ContinueReply (its events are some continuation n's, n ≥ 1); any
    /// other request's are a reply's own (from 1, Accepted not marked a continuation).
    public sealed record Expectation(bool StartsWithAccepted, long AfterSequence, bool Continuation = false);

    /// <summary>
    /// Null when the events are in order: per reply, sequences strictly increase and stay above
    /// the resume point, nothing follows a final event; and a stream that ended OK finished
    /// every reply it carried.
    /// </summary>
    public static string? Problem(IReadOnlyList<ReplyEvent> events, Expectation expectation, bool finished)
    {
        if (events.Count == 0)
        {
            // A stream that ends OK always carries at least the final event of its reply.
            return finished ? "stream ended OK without any event" : null;
        }

        // What the request is decides the numbering: a ContinueReply's events are its continuation n's
        // (n * 2^40 + 1 on, n >= 1, the n its Accepted turn carries), every other request's start at 1.
        if (expectation.StartsWithAccepted)
        {
            if (events[0].EventCase != ReplyEvent.EventOneofCase.Accepted)
            {
                return $"first event is {events[0].EventCase} #{events[0].Sequence}, not Accepted";
            }

            var accepted = events[0].Accepted;
            var n = expectation.Continuation && accepted.PendingTurns.Count > 0 ? accepted.PendingTurns[0].Continuations : 0;
            if (expectation.Continuation && n < 1)
            {
                return $"a ContinueReply's Accepted carries continuation {n}, not one of 1 and more";
            }

            var first = ((long)n << 40) + 1;
            if (accepted.Continuation != expectation.Continuation || events[0].Sequence != first)
            {
                return $"first event is Accepted #{events[0].Sequence} (continuation: {accepted.Continuation}), not #{first} (continuation: {expectation.Continuation})";
            }
        }

        var last = new Dictionary<(long, string), (long Sequence, bool Final)>();
        foreach (var e in events)
        {
            var key = (e.Seq, e.CandidateId);
            if (e.Sequence <= expectation.AfterSequence)
            {
                return $"event #{e.Sequence} of reply {e.Seq} is not after after_sequence {expectation.AfterSequence}";
            }

            if (last.TryGetValue(key, out var previous))
            {
                if (previous.Final)
                {
                    return $"reply {e.Seq} has event #{e.Sequence} after its final event";
                }

                if (e.Sequence <= previous.Sequence)
                {
                    return $"reply {e.Seq}: event #{e.Sequence} after #{previous.Sequence}";
                }
            }

            last[key] = (e.Sequence, e.EventCase is ReplyEvent.EventOneofCase.Completed or ReplyEvent.EventOneofCase.Failed);
        }

        if (!finished)
        {
            return null;
        }

        var owed = events[0].EventCase == ReplyEvent.EventOneofCase.Accepted && expectation.StartsWithAccepted
            ? events[0].Accepted.PendingTurns.Select(t => (t.Seq, t.CandidateId)).ToList()
            : last.Keys.ToList();
        var unfinished = owed.Where(k => !last.TryGetValue(k, out var state) || !state.Final).ToList();
        return unfinished.Count == 0 ? null : $"stream ended OK without a final event for reply {unfinished[0].Item1}";
    }
}
