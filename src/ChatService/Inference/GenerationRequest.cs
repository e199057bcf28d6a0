using Microsoft.Extensions.AI;

namespace ChatService.Inference;

/// <summary>A request to generate one character reply.</summary>
/// <param name="Route">The model route, e.g. <c>default</c>: the backends to try, in order.</param>
/// <param name="Messages">The prompt, usually from <see cref="PromptBuilder.Build"/>.</param>
/// <param name="MaxOutputTokens">The most tokens the reply may have. Default: 512.</param>
public sealed record GenerationRequest(string Route, IReadOnlyList<ChatMessage> Messages, int MaxOutputTokens = 512);
