using System.ClientModel;
using System.Diagnostics;
using Microsoft.Extensions.AI;

namespace ChatService.Inference;

/// <summary>
/// One attempt on one backend: admission to its concurrency limit, the stream under a
/// first-token and a total timeout, and the <see cref="ModelCall"/> it ends with. Nothing here
/// throws: every failure becomes an outcome, so the router can yield around it.
/// </summary>
internal sealed class ModelAttempt : IAsyncDisposable
{
    private const int MaxErrorLength = 500;

    private readonly ModelBackend _backend;
    private readonly IReadOnlyList<ChatMessage> _messages;
    private readonly int _maxOutputTokens;
    private readonly string? _variant;
    private readonly bool _continuesFinalMessage;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CancellationToken _callerToken;
    private readonly long _startTimestamp;
    private readonly Activity? _activity;
    private CancellationTokenSource? _firstTokenTimeout;
    private CancellationTokenSource? _totalTimeout;
    private CancellationTokenSource? _linked;
    private IAsyncEnumerator<ChatResponseUpdate>? _stream;
    private bool _admitted;
    private long _completionChars;
    private int? _reportedPromptTokens;
    private int? _reportedCompletionTokens;
    private DateTimeOffset? _firstTokenAt;

    public ModelAttempt(int number, ModelBackend backend, GenerationRequest request, TimeProvider timeProvider, ILogger logger, CancellationToken callerToken)
    {
        _backend = backend;
        _messages = request.Messages;
        _maxOutputTokens = request.MaxOutputTokens;
        _variant = backend.Options.Kind == BackendKind.Simulated ? request.Variant : null;
        _continuesFinalMessage = request.ContinuesFinalMessage;
        _timeProvider = timeProvider;
        _logger = logger;
        _callerToken = callerToken;
        _startTimestamp = timeProvider.GetTimestamp();
        Started = new AttemptStarted(number, backend.Name, backend.Model, timeProvider.GetUtcNow());
        _activity = InferenceTracing.StartModelCall(number, backend.Name, backend.Options, backend.Model, request.MaxOutputTokens);
    }

    public AttemptStarted Started { get; }

    /// <summary>The text of the update <see cref="MoveNextAsync"/> last returned true for.</summary>
    public string Current { get; private set; } = "";

    /// <summary>Set once the attempt has ended.</summary>
    public ModelCall? Call { get; private set; }

    public Exception? Exception { get; private set; }

    public bool ProducedText => _firstTokenAt is not null;

    private ChatOptions Options()
    {
        var options = new ChatOptions { MaxOutputTokens = _maxOutputTokens };
        if (_variant is not null)
        {
            options.AdditionalProperties = new() { [SimulatedChatClient.VariantProperty] = _variant };
        }

        // Only a continuation says so: a fresh reply's prompt may end with the same character's own turn
        // (a group ContinueChat repeating a speaker), which must not be extended.
        if (_continuesFinalMessage
            && _backend.Options is { Kind: BackendKind.OpenAI, ContinuePrefill: ContinuePrefill.ContinueFinalMessage }
            && _messages.Count > 0 && _messages[^1].Role == ChatRole.Assistant)
        {
            options.RawRepresentationFactory = _ =>
            {
                var raw = new OpenAI.Chat.ChatCompletionOptions();
#pragma warning disable SCME0001 // JsonPatch is the SDK's way to add fields it has no property for.
                raw.Patch.Set("$.continue_final_message"u8, true);
                raw.Patch.Set("$.add_generation_prompt"u8, false);
#pragma warning restore SCME0001
                return raw;
            };
        }

        return options;
    }

    /// <summary>Whether trying the same backend again could help: not for a request the server refused as invalid.</summary>
    public bool IsTransient => Exception is not ClientResultException { Status: >= 400 and < 500 and not (408 or 409 or 429) };

    /// <summary>Takes a slot of the backend's concurrency limit, waiting at most its queue timeout.</summary>
    /// <returns>False when the attempt ended instead: rejected, or cancelled by the caller.</returns>
    public async ValueTask<bool> AdmitAsync()
    {
        var options = _backend.Options;
        if (!_backend.Slots.Wait(0) && !await WaitForSlotAsync(options.QueueTimeout))
        {
            if (_callerToken.IsCancellationRequested)
            {
                End(ModelCallOutcomes.Cancelled, "Cancelled by the caller while waiting for a free slot.");
            }
            else
            {
                End(ModelCallOutcomes.Rejected, $"All {options.MaxConcurrency} slots of backend '{_backend.Name}' stayed busy for {options.QueueTimeout}.");
            }

            return false;
        }

        _admitted = true;
        _firstTokenTimeout = new CancellationTokenSource(options.FirstTokenTimeout, _timeProvider);
        _totalTimeout = new CancellationTokenSource(options.TotalTimeout, _timeProvider);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(_callerToken, _firstTokenTimeout.Token, _totalTimeout.Token);
        return true;
    }

    /// <summary>Advances to the next piece of text.</summary>
    /// <returns>True with <see cref="Current"/> set; false once the attempt has ended (see <see cref="Call"/>).</returns>
    public async ValueTask<bool> MoveNextAsync()
    {
        if (Call is not null || _linked is null)
        {
            return false;
        }

        if (_activity is not null)
        {
            // The backend's own spans (its HTTP calls) belong under this attempt; the change stays inside this method.
            Activity.Current = _activity;
        }

        try
        {
            _stream ??= _backend.Client
                .GetStreamingResponseAsync(_messages, Options(), _linked.Token)
                .GetAsyncEnumerator(_linked.Token);
            while (await _stream.MoveNextAsync())
            {
                var update = _stream.Current;
                CaptureUsage(update);
                var text = update.Text;
                if (string.IsNullOrEmpty(text))
                {
                    continue;
                }

                if (_firstTokenAt is null)
                {
                    _firstTokenAt = _timeProvider.GetUtcNow();
                    // From here on only the total timeout applies.
                    _firstTokenTimeout!.CancelAfter(Timeout.InfiniteTimeSpan);
                    InferenceMetrics.RecordFirstToken(_backend.Name, _timeProvider.GetElapsedTime(_startTimestamp));
                }

                _completionChars += text.Length;
                Current = text;
                return true;
            }

            if (ProducedText)
            {
                End(ModelCallOutcomes.Ok, null);
            }
            else
            {
                End(ModelCallOutcomes.Error, "The backend finished without any text.");
            }
        }
        catch (Exception ex)
        {
            EndWith(ex);
        }

        return false;
    }

    /// <summary>Stops the stream if still running and frees the slot. Never throws.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Call is null)
        {
            End(ModelCallOutcomes.Cancelled, "The caller stopped reading the reply.");
        }

        if (_stream is not null)
        {
            try
            {
                // Tell a backend that is still sending to stop before we let go of its stream.
                _linked?.Cancel();
            }
            catch (AggregateException ex)
            {
                InferenceLog.StreamDisposeFailed(_logger, _backend.Name, ex);
            }

            try
            {
                await _stream.DisposeAsync();
            }
            catch (Exception ex)
            {
                InferenceLog.StreamDisposeFailed(_logger, _backend.Name, ex);
            }
        }

        _linked?.Dispose();
        _firstTokenTimeout?.Dispose();
        _totalTimeout?.Dispose();
        if (_admitted)
        {
            _admitted = false;
            try
            {
                _backend.Slots.Release();
            }
            catch (ObjectDisposedException)
            {
                // The router was disposed while this call was in flight (shutdown).
            }
        }
    }

    private async ValueTask<bool> WaitForSlotAsync(TimeSpan queueTimeout)
    {
        if (queueTimeout <= TimeSpan.Zero)
        {
            return false;
        }

        using var timeout = new CancellationTokenSource(queueTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_callerToken, timeout.Token);
        try
        {
            await _backend.Slots.WaitAsync(linked.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void CaptureUsage(ChatResponseUpdate update)
    {
        foreach (var content in update.Contents)
        {
            if (content is UsageContent { Details: var usage })
            {
                _reportedPromptTokens = ToInt(usage.InputTokenCount) ?? _reportedPromptTokens;
                _reportedCompletionTokens = ToInt(usage.OutputTokenCount) ?? _reportedCompletionTokens;
            }
        }
    }

    private void EndWith(Exception exception)
    {
        var options = _backend.Options;
        var outcome =
            _callerToken.IsCancellationRequested ? ModelCallOutcomes.Cancelled
            : _totalTimeout?.IsCancellationRequested == true ? ModelCallOutcomes.Timeout
            : _firstTokenTimeout?.IsCancellationRequested == true ? (ProducedText ? ModelCallOutcomes.Timeout : ModelCallOutcomes.FirstTokenTimeout)
            : ModelCallOutcomes.Error;
        var error = outcome switch
        {
            ModelCallOutcomes.Cancelled => "Cancelled by the caller.",
            ModelCallOutcomes.Timeout => $"The reply did not finish within {options.TotalTimeout}.",
            ModelCallOutcomes.FirstTokenTimeout => $"No text within {options.FirstTokenTimeout}.",
            _ => Describe(exception),
        };
        Exception = outcome == ModelCallOutcomes.Error ? exception : null;
        End(outcome, error);
    }

    private void End(string outcome, string? error)
    {
        var produced = ProducedText;
        Call = new ModelCall(
            Started.Attempt,
            _backend.Name,
            _backend.Model,
            Started.StartedAt,
            _firstTokenAt,
            _timeProvider.GetUtcNow(),
            _reportedPromptTokens ?? (produced ? TokenEstimate.FromMessages(_messages) : null),
            _reportedCompletionTokens ?? (produced ? TokenEstimate.FromChars(_completionChars) : null),
            outcome,
            error);
        InferenceMetrics.RecordAttempt(Call);
        InferenceTracing.Finish(_activity, Call);
    }

    private static string Describe(Exception exception)
    {
        var text = exception switch
        {
            ClientResultException { Status: > 0 } http => $"HTTP {http.Status}: {http.Message}",
            _ => $"{exception.GetType().Name}: {exception.Message}",
        };
        text = text.ReplaceLineEndings(" ");
        return text.Length <= MaxErrorLength ? text : string.Concat(text.AsSpan(0, MaxErrorLength - 1), "…");
    }

    private static int? ToInt(long? value) => value is { } v ? (int)Math.Clamp(v, 0, int.MaxValue) : null;
}
