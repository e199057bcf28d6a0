namespace ChatService.Bench.Scenarios;

/// <summary>When, after the call began, the client saw each stage of one exchange.</summary>
/// <param name="Accepted">The Accepted event: the user turn and the owed reply are committed.</param>
/// <param name="FirstDelta">The first text of the reply.</param>
internal sealed record ExchangeTimings(TimeSpan Accepted, TimeSpan FirstDelta);
