using System.Collections.Concurrent;
using Grpc.Core;

namespace ChatService.Tests.Hostile;

/// <summary>Runs cases concurrently and collects what each got and which broke the rules.</summary>
internal static class CaseRunner
{
    /// <summary>Longer than any case may take: a case still unanswered by then has hung.</summary>
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(30);

    public sealed record Report(IReadOnlyList<string> Violations, IReadOnlyDictionary<StatusCode, int> Statuses, TimeSpan Elapsed)
    {
        public string Summary => string.Join(", ", Statuses.OrderByDescending(s => s.Value).Select(s => $"{s.Key} {s.Value}")) + $" in {Elapsed.TotalSeconds:F1} s";
    }

    public static async Task<Report> RunAsync(IReadOnlyList<HostileCase> cases, int parallelism, CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        var violations = new ConcurrentBag<(HostileCase Case, Observation Observation, string Why)>();
        var statuses = new ConcurrentDictionary<StatusCode, int>();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (hostile, token) =>
            {
                var observation = await RunOneAsync(hostile, token);
                statuses.AddOrUpdate(observation.Status, 1, (_, n) => n + 1);
                if (Judge(hostile, observation) is { } why)
                {
                    violations.Add((hostile, observation, why));
                }
            });

        // One line per kind of violation (RPC, generator, status), with how often and a first example.
        var grouped = violations
            .GroupBy(v => (v.Case.Rpc, v.Case.Generator, v.Observation.Status, v.Why))
            .OrderByDescending(g => g.Count())
            .Select(g =>
            {
                var first = g.OrderBy(v => v.Case.Index).First();
                return $"{g.Key.Rpc}/{g.Key.Generator} → {g.Key.Status} ({g.Key.Why}) ×{g.Count()}, e.g. {first.Case}: " +
                    $"{Shorten(first.Observation.Detail)}{(first.Observation.Problem is { } p ? $" [{p}]" : "")}";
            })
            .ToList();
        return new Report(grouped, statuses, DateTime.UtcNow - started);
    }

    /// <summary>Why the observation breaks the rules, or null when it does not.</summary>
    private static string? Judge(HostileCase hostile, Observation observation) => observation switch
    {
        { Status: StatusCode.Internal or StatusCode.Unknown } => "never allowed",
        { Problem: not null } => "wrong answer",
        _ when !hostile.Allowed.Contains(observation.Status) => $"expected one of {string.Join("/", hostile.Allowed.Order())}",
        _ => null,
    };

    private static async Task<Observation> RunOneAsync(HostileCase hostile, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CaseTimeout);
        var deadline = hostile.DeadlineMs is { } ms ? DateTime.UtcNow.AddMilliseconds(ms) : (DateTime?)null;
        Observation observation;
        try
        {
            observation = await hostile.Run(timeout.Token, deadline);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Not a gRPC status: the call broke below gRPC (a crash would look like this).
            observation = new Observation(StatusCode.Unknown, $"{ex.GetType().Name}: {ex.Message}", "the call failed without a gRPC status");
        }

        if (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return observation with { Problem = $"no answer within {CaseTimeout.TotalSeconds} s" };
        }

        return Normalize(observation, deadline);
    }

    /// <summary>
    /// When the caller cancels or its deadline passes, grpc-dotnet ends the call on the server
    /// (for a deadline: DEADLINE_EXCEEDED in the trailers, then a CANCEL reset of the stream). Over
    /// a real connection the client reads that status or its own cancellation; through the
    /// in-process test server the reset or the closed pipe can surface as an exception, which the
    /// client library reports as INTERNAL or UNAVAILABLE with the exception attached. Such a status
    /// is the client's, not the service's. Likewise grpc-dotnet's own answer to a call that the
    /// caller's cancellation or deadline broke below the service's code (reading the request, or
    /// writing the response, after the stream was reset): UNKNOWN "Exception was thrown by
    /// handler.", logged at Information because the call was cancelled; over a real connection the
    /// caller has ended the call with its own status before those trailers could arrive. A real
    /// failure in a handler is logged as an error, which the suite fails on separately. Any other
    /// status stands.
    /// </summary>
    private static Observation Normalize(Observation observation, DateTime? deadline)
    {
        var brokenByCancellation = observation.Status == StatusCode.Unknown
            && observation.Detail.StartsWith("Exception was thrown by handler", StringComparison.Ordinal);
        if (!(observation.ClientSide || brokenByCancellation) || observation.Status is not (StatusCode.Internal or StatusCode.Unavailable or StatusCode.Unknown))
        {
            return observation;
        }

        if (observation.CancelledByCaller)
        {
            return observation with { Status = StatusCode.Cancelled, Detail = "cancelled by the caller; the client library reported: " + observation.Detail };
        }

        return deadline is { } passed && DateTime.UtcNow >= passed
            ? observation with { Status = StatusCode.DeadlineExceeded, Detail = "the deadline passed; the client library reported: " + observation.Detail }
            : observation;
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
