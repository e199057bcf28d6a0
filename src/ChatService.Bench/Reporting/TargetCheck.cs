namespace ChatService.Bench.Reporting;

/// <summary>A performance target and whether this run met it.</summary>
internal sealed record TargetCheck(string Target, string Measured, bool Met);
