namespace ChatService.Inference;

/// <summary>
/// What <see cref="ModelRouter.GenerateAsync"/> yields, in order: for each attempt an
/// <see cref="AttemptStarted"/>, zero or more <see cref="TextDelta"/> (only from the attempt that
/// produced tokens) and an <see cref="AttemptFinished"/>; then exactly one <see cref="GenerationFinished"/>.
/// </summary>
public abstract record GenerationEvent;
