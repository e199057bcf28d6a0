using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using OpenAI;

namespace ChatService.Inference;

/// <summary>Creates the <see cref="IChatClient"/> a backend's options describe.</summary>
internal static class ModelBackendFactory
{
    public static IChatClient CreateClient(BackendOptions options, TimeProvider timeProvider) => options.Kind switch
    {
        BackendKind.Simulated => new SimulatedChatClient(options, timeProvider),
        BackendKind.OpenAI => CreateOpenAIClient(options),
        _ => throw new NotSupportedException($"Backend kind '{options.Kind}' is not supported."),
    };

    private static IChatClient CreateOpenAIClient(BackendOptions options)
    {
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = new Uri(options.BaseUrl ?? throw new InvalidOperationException("An OpenAI backend needs a BaseUrl.")),
            // The router owns retries and fallback; SDK retries would hide failures behind its backoff.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            // The router's first-token and total timeouts govern; this only has to outlast them.
            NetworkTimeout = Max(options.TotalTimeout, options.FirstTokenTimeout) + TimeSpan.FromSeconds(5),
        };
        var credential = new ApiKeyCredential(string.IsNullOrEmpty(options.ApiKey) ? "unused" : options.ApiKey);
        var client = new OpenAIClient(credential, clientOptions).GetChatClient(options.EffectiveModel).AsIChatClient();
        return options.SendLegacyMaxTokens ? new LegacyMaxTokensChatClient(client) : client;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
