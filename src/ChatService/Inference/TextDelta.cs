namespace ChatService.Inference;

/// <summary>The next piece of the reply text, as the backend streamed it.</summary>
public sealed record TextDelta(string Text) : GenerationEvent;
