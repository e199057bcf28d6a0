using Microsoft.Extensions.AI;
using OpenAI.Chat;

namespace ChatService.Inference;

/// <summary>
/// Sends the output limit twice: the OpenAI SDK writes it as <c>max_completion_tokens</c>, which
/// some OpenAI-compatible servers (Ollama, LM Studio, older llama.cpp builds) ignore; they read
/// the older <c>max_tokens</c>, added here. See <see cref="BackendOptions.SendLegacyMaxTokens"/>.
/// </summary>
internal sealed class LegacyMaxTokensChatClient(IChatClient inner) : DelegatingChatClient(inner)
{
    public override Task<ChatResponse> GetResponseAsync(
        IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        base.GetResponseAsync(messages, WithLegacyMaxTokens(options), cancellationToken);

    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        base.GetStreamingResponseAsync(messages, WithLegacyMaxTokens(options), cancellationToken);

    private static ChatOptions? WithLegacyMaxTokens(ChatOptions? options)
    {
        if (options?.MaxOutputTokens is not { } maxTokens)
        {
            return options;
        }

        var copy = options.Clone();
        var inner = copy.RawRepresentationFactory;
        copy.RawRepresentationFactory = client =>
        {
            var raw = inner?.Invoke(client) as ChatCompletionOptions ?? new ChatCompletionOptions();
#pragma warning disable SCME0001 // JsonPatch is the SDK's way to add a field it has no property for.
            raw.Patch.Set("$.max_tokens"u8, maxTokens);
#pragma warning restore SCME0001
            return raw;
        };
        return copy;
    }
}
