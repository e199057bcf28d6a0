using ChatService.Chats;

namespace ChatService.Inference;

/// <summary>The last event of a generation.</summary>
/// <param name="Succeeded">True when an attempt streamed the whole reply.</param>
/// <param name="FailureCode">Why it failed, when not succeeded.</param>
/// <param name="FailureReason">A human-readable reason when not succeeded.</param>
public sealed record GenerationFinished(bool Succeeded, ReplyFailureCode? FailureCode, string? FailureReason) : GenerationEvent;
