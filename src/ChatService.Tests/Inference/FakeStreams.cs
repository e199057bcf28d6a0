using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace ChatService.Tests.Inference;

/// <summary>Stream behaviours for <see cref="FakeChatClient"/>.</summary>
internal static class FakeStreams
{
    /// <summary>The chunks, then a final update with the usage when given.</summary>
    public static async IAsyncEnumerable<ChatResponseUpdate> Text(
        string[] chunks, UsageDetails? usage = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var chunk in chunks)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return new ChatResponseUpdate(ChatRole.Assistant, chunk);
        }

        if (usage is not null)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(usage)]) { FinishReason = ChatFinishReason.Stop };
        }
    }

    /// <summary>Fails the way a refused connection does, before any text.</summary>
    public static async IAsyncEnumerable<ChatResponseUpdate> FailBeforeFirstToken([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        throw new HttpRequestException("Connection refused (fake).");
#pragma warning disable CS0162 // An iterator needs a yield to be one.
        yield break;
#pragma warning restore CS0162
    }

    /// <summary>The chunks, then a failure: a server that died part way.</summary>
    public static async IAsyncEnumerable<ChatResponseUpdate> FailAfter(
        string[] chunks, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var update in Text(chunks, cancellationToken: cancellationToken))
        {
            yield return update;
        }

        throw new IOException("The connection was reset (fake).");
    }

    /// <summary>The chunks, then nothing until cancelled (on the given clock).</summary>
    public static async IAsyncEnumerable<ChatResponseUpdate> HangAfter(
        string[] chunks, TimeProvider timeProvider, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var update in Text(chunks, cancellationToken: cancellationToken))
        {
            yield return update;
        }

        await Task.Delay(Timeout.InfiniteTimeSpan, timeProvider, cancellationToken);
    }

    /// <summary>Waits for <paramref name="gate"/>, then streams the chunks.</summary>
    public static async IAsyncEnumerable<ChatResponseUpdate> After(
        Task gate, string[] chunks, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await gate.WaitAsync(cancellationToken);
        await foreach (var update in Text(chunks, cancellationToken: cancellationToken))
        {
            yield return update;
        }
    }
}
