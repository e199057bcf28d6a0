namespace ChatService.Inference;

/// <summary>An attempt ended; <see cref="Call"/> is its row of the model-call log.</summary>
public sealed record AttemptFinished(ModelCall Call) : GenerationEvent;
