using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;

namespace ChatService.Tests.Inference;

/// <summary>
/// An <see cref="IChatClient"/> whose streams a test scripts: call n runs <c>script(n)</c>
/// (0-based). Records each call's messages and options, and signals each call as it starts.
/// </summary>
internal sealed class FakeChatClient(Func<int, CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> script) : IChatClient
{
    private readonly Channel<int> _started = Channel.CreateUnbounded<int>();
    private readonly List<(IReadOnlyList<ChatMessage> Messages, ChatOptions? Options)> _calls = [];
    private int _cancelledCalls;

    /// <summary>Every call runs the same stream.</summary>
    public FakeChatClient(Func<CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> stream)
        : this((_, ct) => stream(ct))
    {
    }

    public IReadOnlyList<(IReadOnlyList<ChatMessage> Messages, ChatOptions? Options)> Calls
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Calls whose stream saw its cancellation token fire.</summary>
    public int CancelledCalls => Volatile.Read(ref _cancelledCalls);

    /// <summary>Completes when the next call (in order) has started.</summary>
    public async Task WaitForCallAsync(CancellationToken cancellationToken) => await _started.Reader.ReadAsync(cancellationToken);

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        int index;
        lock (_calls)
        {
            index = _calls.Count;
            _calls.Add(([.. messages], options));
        }

        using var registration = cancellationToken.Register(() => Interlocked.Increment(ref _cancelledCalls));
        _started.Writer.TryWrite(index);
        await foreach (var update in script(index, cancellationToken).WithCancellation(cancellationToken))
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
