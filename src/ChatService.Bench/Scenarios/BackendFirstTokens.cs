using ChatService.Bench.Infrastructure;
using Spanner.Client;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// How long the model backend itself took to its first token, for each measured exchange's reply, as the
/// service logged it (<c>ModelCalls</c>: <c>StartedTime</c>, when the attempt began, to <c>FirstTokenTime</c>,
/// when its first text reached the service). The simulated backend waits its nominal time to first token
/// with a timer, which ends a little late (the timer's resolution, and the thread pool's delay in running
/// what follows on a machine the bench shares): subtracting the nominal time alone counts that lateness as the
/// service's. Read by the bench's own client after the run, so the service's counters don't see it.
/// <para>
/// <c>StartedTime</c> is taken when the router creates the attempt: before the reply publishes its Started
/// event and before the attempt takes a slot of the backend's concurrency limit, so a wait for a slot would
/// be counted as the backend's. <c>FirstTokenTime</c> is taken once the service's thread pool has run what
/// follows the backend's first text. Publishing Started, taking the slot and that hop are the service's own
/// work inside the subtracted time (a real backend's first token makes the hop too). The send scenario
/// sets the simulated backend's limit (<c>MaxConcurrency</c>) to at least twice its most callers, so none
/// waits for a slot.
/// </para>
/// </summary>
internal static class BackendFirstTokens
{
    /// <summary>The key of one reply's first attempt.</summary>
    public readonly record struct ReplyKey(string ChatId, long Seq, string CandidateId);

    /// <summary>
    /// Each reply's backend time to first token, for the replies whose one and only attempt produced text;
    /// a reply with more than one attempt (a backend error and a retry) is left out, as its wait is not one backend's.
    /// </summary>
    public static async Task<Dictionary<ReplyKey, TimeSpan>> ReadAsync(
        BenchDatabase database, IReadOnlyCollection<string> chatIds, CancellationToken cancellationToken)
    {
        var found = new Dictionary<ReplyKey, TimeSpan>();
        var retried = new HashSet<ReplyKey>();
        await using var client = SpannerDatabaseClient.Create(database.SpannerOptions);
        var statement = new SpannerStatement(
            "SELECT ChatId, Seq, CandidateId, Attempt, StartedTime, FirstTokenTime FROM ModelCalls WHERE ChatId IN UNNEST(@chats)")
            .Add("chats", chatIds.ToArray());
        await foreach (var row in client.QueryAsync(statement, cancellationToken: cancellationToken))
        {
            var key = new ReplyKey(row.Get<string>("ChatId"), row.Get<long>("Seq"), row.Get<string>("CandidateId"));
            var started = row.Get<DateTimeOffset?>("StartedTime");
            var firstToken = row.Get<DateTimeOffset?>("FirstTokenTime");
            if (row.Get<long>("Attempt") != 1 || started is null || firstToken is null)
            {
                retried.Add(key);
                continue;
            }

            found[key] = firstToken.Value - started.Value;
        }

        foreach (var key in retried)
        {
            found.Remove(key);
        }

        return found;
    }
}
