using ChatService.Chats;

namespace ChatService.Dispatch;

/// <summary>
/// Copies the events of a reply this replica generates from its in-process stream to the shared
/// log, at most one append per <see cref="DispatchOptions.LogFlushInterval"/>: an event that comes
/// when the last append is that long ago goes out at once (a slow model's tokens add no delay), one
/// that comes sooner waits for the rest of the interval with whatever follows it, unless
/// <see cref="DispatchOptions.LogFlushCharacters"/> of text are waiting or the reply ends. The token
/// loop never waits for Redis: it publishes to the stream, this copies.
/// When the log cannot be reached, it retries with backoff and generation goes on.
/// </summary>
internal sealed partial class ReplyLogWriter
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);

    /// <summary>How long events are still offered to an unreachable log after the reply ended.</summary>
    private static readonly TimeSpan GiveUpAfterEnd = TimeSpan.FromSeconds(30);

    private const int MaxBatchEvents = 512;

    private readonly IReplyLog _log;
    private readonly ReplyStream _stream;
    private readonly int _attempt;
    private readonly DispatchOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    /// <summary>The newest stream event the log holds.</summary>
    private long _flushed;

    /// <summary>When the last append went out (a <see cref="TimeProvider.GetTimestamp"/>); 0 before the first.</summary>
    private long _lastAppendAt;

    /// <summary>Log sequence minus stream sequence: 0 unless the log had to be re-joined (see <see cref="Rejoin"/>).</summary>
    private long _offset;

    public ReplyLogWriter(IReplyLog log, ReplyStream stream, int attempt, DispatchOptions options, TimeProvider timeProvider, ILogger logger)
    {
        _log = log;
        _stream = stream;
        _attempt = attempt;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>True once copying has started (never without a shared log).</summary>
    public bool Started { get; private set; }

    /// <summary>True once a later attempt (another replica) writes the log: this one stopped writing.</summary>
    public bool Fenced { get; private set; }

    /// <summary>Starts copying the events after <paramref name="alreadyLogged"/> (those before are in the log).</summary>
    public void Start(long alreadyLogged)
    {
        if (!_log.IsEnabled)
        {
            return;
        }

        _flushed = alreadyLogged;
        Started = true;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Waits, at most <paramref name="bound"/>, for the events of an ended stream to reach the log, then stops.</summary>
    public async Task CompleteAsync(TimeSpan bound)
    {
        if (await Task.WhenAny(_loop, Task.Delay(bound, _timeProvider)) != _loop)
        {
            await _stop.CancelAsync();
        }

        await _loop;
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var failures = 0;
        DateTimeOffset? endedAt = null;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _stream.WhenChangedAfter(_flushed).WaitAsync(_stop.Token);
                if (failures == 0)
                {
                    await CoalesceAsync();
                }

                var batch = _stream.Snapshot(_flushed, MaxBatchEvents);
                if (batch.Count == 0)
                {
                    // Ended (abandoned or finished) with everything written.
                    return;
                }

                if (_stream.IsEnded)
                {
                    endedAt ??= _timeProvider.GetUtcNow();
                }

                // Raced with the stop: CompleteAsync's bound holds even if the log never answers.
                var result = await _log.AppendAsync(_stream.Key, _attempt, _offset == 0 ? batch : [.. batch.Select(u => u with { Sequence = u.Sequence + _offset })])
                    .WaitAsync(_stop.Token);
                failures = 0;
                switch (result.Status)
                {
                    case ReplyLogAppendStatus.Appended:
                        _flushed = batch[^1].Sequence;
                        _lastAppendAt = _timeProvider.GetTimestamp();
                        DispatchMetrics.LogAppended(batch.Count);
                        break;
                    case ReplyLogAppendStatus.Fenced:
                        Fenced = true;
                        DispatchMetrics.LogAppendRefused("fenced");
                        return;
                    case ReplyLogAppendStatus.Ended:
                        DispatchMetrics.LogAppendRefused("ended");
                        return;
                    default:
                        DispatchMetrics.LogAppendRefused("out_of_order");
                        await RejoinAsync(result);
                        break;
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (ReplyLogUnavailableException ex)
            {
                DispatchMetrics.LogAppendRefused("unavailable");
                if (failures++ == 0)
                {
                    Log.LogUnavailable(_logger, _stream.Key.ToString(), ex.Message);
                }

                if (endedAt is { } ended && _timeProvider.GetUtcNow() - ended > GiveUpAfterEnd)
                {
                    return;
                }

                var delay = TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelay.TotalMilliseconds, 50 * Math.Pow(2, Math.Min(failures, 10))));
                try
                {
                    await Task.Delay(delay, _timeProvider, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (Exception ex)
            {
                // A bug here must not touch the reply: followers elsewhere fall back to storage.
                Log.WriterFailed(_logger, _stream.Key.ToString(), ex);
                return;
            }
        }
    }

    /// <summary>Waits for the rest of the flush interval since the last append, unless the reply ends or enough text is waiting.</summary>
    private async Task CoalesceAsync()
    {
        var remaining = _lastAppendAt == 0 ? TimeSpan.Zero : _options.LogFlushInterval - _timeProvider.GetElapsedTime(_lastAppendAt);
        if (remaining <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timer.CancelAfter(remaining);
        while (!_stream.IsEnded && PendingCharacters() < _options.LogFlushCharacters)
        {
            try
            {
                await _stream.WhenChangedAfter(_stream.LastSequence).WaitAsync(timer.Token);
            }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private int PendingCharacters()
    {
        var pending = 0;
        foreach (var update in _stream.Snapshot(_flushed))
        {
            pending += update.Text?.Length ?? 0;
        }

        return pending;
    }

    /// <summary>
    /// The log does not end where this writer left it. When it holds less (Redis lost writes, or the
    /// log expired) and the stream still has what is missing, that is written again. Otherwise (it
    /// holds events this stream never saw: a new attempt that could not read the log when it started)
    /// this attempt re-joins it: a Restarted event and the text so far, numbered after the log's last,
    /// then the stream's events numbered on from there. Followers elsewhere then see a consistent log;
    /// only this replica's own callers keep the stream's numbering.
    /// </summary>
    private Task RejoinAsync(ReplyLogAppend refused)
    {
        var logLast = refused.LastSequence;
        var streamFirst = _stream.Snapshot(0, 1) is [var first, ..] ? first.Sequence : 1;
        if (refused.LastAttempt == _attempt && logLast - _offset > _flushed && logLast - _offset <= _stream.LastSequence)
        {
            // Ours already: an append that timed out here had landed there. Nobody else writes
            // this attempt's events.
            _flushed = logLast - _offset;
            return Task.CompletedTask;
        }

        if (logLast - _offset < _flushed && logLast - _offset >= streamFirst - 1)
        {
            _flushed = logLast - _offset;
            return Task.CompletedTask;
        }

        Log.Rejoined(_logger, _stream.Key.ToString(), logLast);
        var text = StoredEnding.ShownText(_stream.Snapshot(0).TakeWhile(u => u.Sequence <= _flushed));
        List<ReplyUpdate> bridge = [new ReplyUpdate(logLast + 1, ReplyUpdateKind.Restarted, Text: "generation continues on another replica", Attempt: _attempt)];
        if (text.Length > 0)
        {
            bridge.Add(new ReplyUpdate(logLast + 2, ReplyUpdateKind.Delta, Text: text));
        }

        return AppendBridgeAsync(bridge);
    }

    private async Task AppendBridgeAsync(List<ReplyUpdate> bridge)
    {
        var result = await _log.AppendAsync(_stream.Key, _attempt, bridge).WaitAsync(_stop.Token);
        if (result.Status == ReplyLogAppendStatus.Appended)
        {
            _offset = bridge[^1].Sequence - _flushed;
        }
        else if (result.Status == ReplyLogAppendStatus.Fenced)
        {
            Fenced = true;
            await _stop.CancelAsync();
        }
        else if (result.Status == ReplyLogAppendStatus.Ended)
        {
            await _stop.CancelAsync();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3303, LogLevel.Error, "Copying reply {Reply} to the reply log failed; its followers on other replicas fall back to storage.")]
        public static partial void WriterFailed(ILogger logger, string reply, Exception exception);

        [LoggerMessage(3301, LogLevel.Warning, "The reply log of {Reply} is unreachable ({Message}); generation goes on and the log is retried.")]
        public static partial void LogUnavailable(ILogger logger, string reply, string message);

        [LoggerMessage(3302, LogLevel.Warning, "The reply log of {Reply} ends at {LogLast}, not where this replica left it; re-joining it with a Restarted event.")]
        public static partial void Rejoined(ILogger logger, string reply, long logLast);
    }
}
