using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;

namespace ChatService.Inference;

/// <summary>
/// The built-in model for local runs and tests: no GPU, no network.
/// <list type="bullet">
/// <item>Deterministic: the reply text depends only on the seed and the messages.</item>
/// <item>Persona-aware: it names the persona and echoes the last user message.</item>
/// <item>Paced like a real server: <see cref="BackendOptions.TimeToFirstToken"/>, then
/// <see cref="BackendOptions.TokensPerSecond"/>, on the injected <see cref="TimeProvider"/>.</item>
/// <item>Faulty on request: the configured rates, drawn from a random seeded once per client
/// (so a run's sequence of faults is reproducible and a retry gets a fresh draw), or a
/// <c>[sim:...]</c> directive in the last user message (see <see cref="SimulatedFaults"/>).</item>
/// </list>
/// </summary>
public sealed class SimulatedChatClient : IChatClient
{
    /// <summary>The model name of a simulated backend that configures none.</summary>
    public const string DefaultModel = "sim-1";

    /// <summary>
    /// The chat option (in <see cref="ChatOptions.AdditionalProperties"/>) naming which reply is asked for:
    /// the same prompt with another variant gets another reply, as a sampling model's would.
    /// </summary>
    public const string VariantProperty = "simulated.variant";

    /// <summary>How much slower a <c>[sim:slow]</c> request is paced.</summary>
    public const double SlowDirectiveFactor = 10;

    private readonly BackendOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Random _faultRandom;
    private readonly Lock _faultLock = new();
    private readonly ChatClientMetadata _metadata;

    public SimulatedChatClient(BackendOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options;
        _timeProvider = timeProvider;
        _faultRandom = new Random(options.Seed);
        _metadata = new ChatClientMetadata("simulated", defaultModelId: options.EffectiveModel);
    }

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        // The time to first token counts from the call, as a server's does from the request: the reply's
        // preparation below is inside it, not added to it.
        var called = _timeProvider.GetTimestamp();
        var prompt = messages.ToList();
        var persona = string.Join('\n', prompt.Where(m => m.Role == ChatRole.System).Select(m => m.Text));
        var lastUser = prompt.LastOrDefault(m => m.Role == ChatRole.User)?.Text;
        var faults = DrawFaults(SimulatedDirectives.Parse(lastUser));

        var hash = PromptHash(prompt, options?.AdditionalProperties?.GetValueOrDefault(VariantProperty) as string);
        var random = new Random(unchecked((int)(hash ^ (hash >> 32))));
        var limit = options?.MaxOutputTokens is > 0 and var max ? max : int.MaxValue;
        var wanted = random.Next(_options.MinTokens, Math.Max(_options.MinTokens, _options.MaxTokens) + 1);
        var tokens = SimulatedReplyWriter.Write(random, persona, lastUser, wanted, limit);
        var failAfter = tokens.Count > 1 ? random.Next(1, tokens.Count) : 1;

        var slowFactor = _options.SlowFactor * (faults.HasFlag(SimulatedFaults.Slow) ? SlowDirectiveFactor : 1);
        var responseId = $"sim-{hash:x16}";
        var model = options?.ModelId ?? _options.EffectiveModel;

        if (faults.HasFlag(SimulatedFaults.Hang))
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, _timeProvider, cancellationToken);
        }

        if (faults.HasFlag(SimulatedFaults.FailBeforeFirstToken))
        {
            throw new SimulatedBackendException("Simulated failure before the first token.");
        }

        await DelayAsync(WholeMilliseconds(_options.TimeToFirstToken * slowFactor - _timeProvider.GetElapsedTime(called)), cancellationToken);
        var perToken = TimeSpan.FromSeconds(slowFactor / _options.TokensPerSecond);
        for (var i = 0; i < tokens.Count; i++)
        {
            if (i > 0)
            {
                await DelayAsync(perToken, cancellationToken);
            }

            if (faults.HasFlag(SimulatedFaults.FailMidStream) && i == failAfter)
            {
                throw new SimulatedBackendException($"Simulated failure after {i} tokens.");
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant, tokens[i])
            {
                ResponseId = responseId,
                MessageId = responseId,
                ModelId = model,
                CreatedAt = _timeProvider.GetUtcNow(),
            };
        }

        if (faults.HasFlag(SimulatedFaults.FailMidStream))
        {
            // A one-token reply still fails after its token, never before it.
            throw new SimulatedBackendException($"Simulated failure after {tokens.Count} tokens.");
        }

        var usage = new UsageDetails
        {
            InputTokenCount = TokenEstimate.FromMessages(prompt),
            OutputTokenCount = tokens.Count,
        };
        usage.TotalTokenCount = usage.InputTokenCount + usage.OutputTokenCount;
        yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(usage)])
        {
            ResponseId = responseId,
            MessageId = responseId,
            ModelId = model,
            CreatedAt = _timeProvider.GetUtcNow(),
            FinishReason = tokens.Count >= limit ? ChatFinishReason.Length : ChatFinishReason.Stop,
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    public void Dispose()
    {
    }

    private SimulatedFaults DrawFaults(SimulatedFaults requested)
    {
        double hang, before, mid;
        lock (_faultLock)
        {
            // Always three draws, so one knob's setting does not shift the others' sequence.
            (hang, before, mid) = (_faultRandom.NextDouble(), _faultRandom.NextDouble(), _faultRandom.NextDouble());
        }

        var faults = requested;
        if (hang < _options.HangRate)
        {
            faults |= SimulatedFaults.Hang;
        }

        if (before < _options.FailBeforeFirstTokenRate)
        {
            faults |= SimulatedFaults.FailBeforeFirstToken;
        }

        if (mid < _options.FailMidStreamRate)
        {
            faults |= SimulatedFaults.FailMidStream;
        }

        return faults;
    }

    /// <summary>
    /// The delay rounded up to a whole millisecond: the system clock's timers drop a fraction (49.7 ms waits
    /// 49 ms), and a first token that comes before its time to first token would flatter what is measured
    /// against it. A test's fake clock gets whole milliseconds too.
    /// </summary>
    private static TimeSpan WholeMilliseconds(TimeSpan delay) =>
        delay > TimeSpan.Zero ? TimeSpan.FromMilliseconds(Math.Ceiling(delay.TotalMilliseconds)) : TimeSpan.Zero;

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) =>
        delay > TimeSpan.Zero ? Task.Delay(delay, _timeProvider, cancellationToken) : Task.CompletedTask;

    /// <summary>FNV-1a over the seed, the variant and the messages: stable across processes, unlike <see cref="string.GetHashCode()"/>.</summary>
    private ulong PromptHash(IReadOnlyList<ChatMessage> prompt, string? variant)
    {
        const ulong prime = 1099511628211;
        var hash = 14695981039346656037UL;
        void Add(ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes)
            {
                hash = (hash ^ b) * prime;
            }
        }

        Add(BitConverter.GetBytes(_options.Seed));
        if (variant is not null)
        {
            Add(Encoding.UTF8.GetBytes(variant));
            Add([0]);
        }

        foreach (var message in prompt)
        {
            Add(Encoding.UTF8.GetBytes(message.Role.Value));
            Add([0]);
            Add(Encoding.UTF8.GetBytes(message.Text));
            Add([0]);
        }

        return hash;
    }
}
