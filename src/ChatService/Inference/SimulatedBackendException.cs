namespace ChatService.Inference;

/// <summary>A failure the simulated model injected on purpose.</summary>
public sealed class SimulatedBackendException(string message) : Exception(message);
