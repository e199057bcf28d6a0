using Microsoft.Extensions.AI;

namespace ChatService.Inference;

/// <summary>A request to generate one character reply.</summary>
/// <param name="Route">The model route, e.g. <c>default</c>: the backends to try, in order.</param>
/// <param name="Messages">The prompt, usually from <see cref="PromptBuilder.Assemble"/>.</param>
/// <param name="MaxOutputTokens">The most tokens the reply may have. Default: 512.</param>
/// <param name="Variant">
/// Which reply this is (its candidate id). A sampling model answers the same prompt differently each
/// time, so swipes differ; the simulated backend, which is deterministic, mixes this in to do the same,
/// while every attempt at one candidate still writes the same text. Never sent to a real backend.
/// </param>
/// <param name="ContinuesFinalMessage">
/// True only for a continuation (ContinueReply): the prompt's final assistant message is the reply being
/// extended, and a backend with <see cref="ContinuePrefill.ContinueFinalMessage"/> is told to go on with it.
/// A fresh reply whose prompt happens to end with an assistant message (the same character speaking again)
/// leaves it false, so that message is never extended.
/// </param>
public sealed record GenerationRequest(string Route, IReadOnlyList<ChatMessage> Messages, int MaxOutputTokens = 512, string? Variant = null, bool ContinuesFinalMessage = false);
