namespace ChatService.Inference;

/// <summary>One attempt on one backend: a row of the model-call log.</summary>
/// <param name="Attempt">1-based number of the attempt within the generation.</param>
/// <param name="Backend">Configured backend name, e.g. <c>sim</c>.</param>
/// <param name="Model">The model the backend was asked for.</param>
/// <param name="FirstTokenAt">When the first text arrived; null when none did.</param>
/// <param name="PromptTokens">Reported by the backend, else estimated (about 4 characters a token) once text arrived; null when unknown.</param>
/// <param name="CompletionTokens">Reported by the backend, else estimated once text arrived; null when unknown.</param>
/// <param name="Outcome">One of <see cref="ModelCallOutcomes"/>.</param>
/// <param name="Error">What went wrong, when the outcome is not <c>ok</c>.</param>
public sealed record ModelCall(
    int Attempt,
    string Backend,
    string Model,
    DateTimeOffset StartedAt,
    DateTimeOffset? FirstTokenAt,
    DateTimeOffset FinishedAt,
    int? PromptTokens,
    int? CompletionTokens,
    string Outcome,
    string? Error)
{
    /// <summary>This attempt as the model-call log stores it, queued at <paramref name="queuedAt"/>.</summary>
    public Chats.ModelCallRecord ToRecord(DateTimeOffset? queuedAt) =>
        new(Backend, Model, Outcome, Error, queuedAt, StartedAt, FirstTokenAt, FinishedAt, PromptTokens, CompletionTokens);
}
