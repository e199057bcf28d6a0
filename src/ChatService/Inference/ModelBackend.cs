using Microsoft.Extensions.AI;

namespace ChatService.Inference;

/// <summary>A configured backend: its client and its concurrency limit on this replica.</summary>
internal sealed class ModelBackend(string name, BackendOptions options, IChatClient client) : IDisposable
{
    public string Name { get; } = name;

    public string Model { get; } = options.EffectiveModel;

    public BackendOptions Options { get; } = options;

    public IChatClient Client { get; } = client;

    /// <summary>Free call slots; a call holds one from admission until its stream is disposed.</summary>
    public SemaphoreSlim Slots { get; } = new(options.MaxConcurrency, options.MaxConcurrency);

    public void Dispose()
    {
        Client.Dispose();
        Slots.Dispose();
    }
}
