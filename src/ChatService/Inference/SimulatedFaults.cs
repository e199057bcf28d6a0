namespace ChatService.Inference;

/// <summary>
/// Faults the simulated model can inject. Besides the configured rates, the last user message
/// may ask for them with directives, so tests and demos can force one:
/// <c>[sim:fail-before-first-token]</c>, <c>[sim:fail-mid-stream]</c>, <c>[sim:hang]</c>, <c>[sim:slow]</c>.
/// </summary>
[Flags]
internal enum SimulatedFaults
{
    None = 0,
    FailBeforeFirstToken = 1,
    FailMidStream = 2,
    Hang = 4,
    Slow = 8,
}
