namespace ChatService.Inference;

/// <summary>An attempt on one backend began.</summary>
/// <param name="Attempt">1-based number of the attempt within the generation.</param>
public sealed record AttemptStarted(int Attempt, string Backend, string Model, DateTimeOffset StartedAt) : GenerationEvent;
