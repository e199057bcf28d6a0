namespace ChatService.Bench.Scenarios;

/// <summary>When, after the call began, the client saw each stage of one exchange, and which reply it was.</summary>
/// <param name="Accepted">The Accepted event: the user turn and the owed reply are committed.</param>
/// <param name="FirstDelta">The first text of the reply.</param>
/// <param name="ReplySeq">The owed reply's turn (Accepted's first pending turn); 0 when Accepted named none.</param>
/// <param name="ReplyCandidateId">The owed reply's candidate; empty when Accepted named none.</param>
internal sealed record ExchangeTimings(TimeSpan Accepted, TimeSpan FirstDelta, long ReplySeq, string ReplyCandidateId);
