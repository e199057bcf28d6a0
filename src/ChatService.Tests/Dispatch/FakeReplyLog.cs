using System.Diagnostics;
using ChatService.Chats;
using ChatService.Dispatch;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// An in-memory <see cref="IReplyLog"/> that checks appends as the Redis script does (order,
/// fence, end), records every call, and can be made unreachable, slow, or silent for good. Tests
/// also write to it behind the writer's back (<see cref="Inject"/>) and make it lose events
/// (<see cref="Truncate"/>).
/// </summary>
internal sealed class FakeReplyLog : IReplyLog
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ReplyKey, Log> _logs = [];
    private readonly List<Append> _appends = [];
    private readonly List<Subscription> _subscriptions = [];
    private int _appendCalls;
    private int _reads;
    private int _wakes;

    /// <summary>One call to <see cref="AppendAsync"/> that got an answer, with the moment it was made (a <see cref="Stopwatch"/> timestamp).</summary>
    public sealed record Append(int Attempt, IReadOnlyList<ReplyUpdate> Events, ReplyLogAppendStatus Status, long At);

    /// <summary>Every call throws <see cref="ReplyLogUnavailableException"/>, and subscribing answers null.</summary>
    public bool Unavailable
    {
        get => Volatile.Read(ref field);
        set => Volatile.Write(ref field, value);
    }

    /// <summary>Appends never complete (no answer, no error): a log that hangs.</summary>
    public bool NeverAnswers
    {
        get => Volatile.Read(ref field);
        set => Volatile.Write(ref field, value);
    }

    /// <summary>How long each call takes before it answers (or fails, when <see cref="Unavailable"/>).</summary>
    public TimeSpan CallDelay { get; set; }

    /// <summary>How long subscribing takes to give up while <see cref="Unavailable"/>.</summary>
    public TimeSpan SubscribeDelay { get; set; }

    public bool IsEnabled => true;

    /// <summary>Appends that were answered, in order.</summary>
    public IReadOnlyList<Append> Appends
    {
        get
        {
            lock (_gate)
            {
                return [.. _appends];
            }
        }
    }

    /// <summary>Calls to <see cref="AppendAsync"/>, answered or not.</summary>
    public int AppendCalls => Volatile.Read(ref _appendCalls);

    /// <summary>Calls to <see cref="ReadAsync"/> and <see cref="ReadFirstAsync"/>, answered or not.</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>Subscriptions made (not counting refusals while unavailable).</summary>
    public int Subscriptions
    {
        get
        {
            lock (_gate)
            {
                return _subscriptions.Count;
            }
        }
    }

    /// <summary>Subscriptions made and not disposed yet.</summary>
    public int ActiveSubscriptions
    {
        get
        {
            lock (_gate)
            {
                return _subscriptions.Count(s => !s.Disposed);
            }
        }
    }

    /// <summary>Wake-ups delivered to subscribers.</summary>
    public int Wakes => Volatile.Read(ref _wakes);

    /// <summary>The events the reply's log holds.</summary>
    public IReadOnlyList<ReplyUpdate> Events(ReplyKey key)
    {
        lock (_gate)
        {
            return _logs.TryGetValue(key, out var log) ? [.. log.Events] : [];
        }
    }

    /// <summary>Writes events as another writer would, without any check, and wakes the subscribers.</summary>
    public void Inject(ReplyKey key, int attempt, params ReplyUpdate[] events)
    {
        lock (_gate)
        {
            var log = LogLocked(key);
            log.Events.AddRange(events);
            log.LastAttempt = attempt;
        }

        WakeSubscribers(key);
    }

    /// <summary>Drops the events after <paramref name="lastKept"/>, as a failover that lost writes would.</summary>
    public void Truncate(ReplyKey key, long lastKept)
    {
        lock (_gate)
        {
            _logs[key].Events.RemoveAll(e => e.Sequence > lastKept);
        }
    }

    public async Task<ReplyLogAppend> AppendAsync(ReplyKey key, int attempt, IReadOnlyList<ReplyUpdate> events)
    {
        Interlocked.Increment(ref _appendCalls);
        var at = Stopwatch.GetTimestamp();
        if (NeverAnswers)
        {
            await new TaskCompletionSource().Task;
        }

        await CallAsync();
        ReplyLogAppend result;
        lock (_gate)
        {
            var log = LogLocked(key);
            var lastSequence = log.Events.Count == 0 ? 0 : log.Events[^1].Sequence;
            result = log.Events is [.., { IsFinal: true }]
                ? new(ReplyLogAppendStatus.Ended, lastSequence, log.LastAttempt)
                : log.LastAttempt > attempt
                    ? new(ReplyLogAppendStatus.Fenced, lastSequence, log.LastAttempt)
                    : events[0].Sequence != lastSequence + 1 && !(events[0].Kind == ReplyUpdateKind.Restarted && events[0].Sequence > lastSequence)
                        ? new(ReplyLogAppendStatus.OutOfOrder, lastSequence, log.LastAttempt)
                        : new(ReplyLogAppendStatus.Appended, events[^1].Sequence, attempt);
            if (result.Status == ReplyLogAppendStatus.Appended)
            {
                log.Events.AddRange(events);
                log.LastAttempt = attempt;
            }
            else if (log.Events.Count == 0)
            {
                _logs.Remove(key);
            }

            _appends.Add(new Append(attempt, [.. events], result.Status, at));
        }

        if (result.Status == ReplyLogAppendStatus.Appended)
        {
            WakeSubscribers(key);
        }

        return result;
    }

    public async Task EndAsync(ReplyKey key, ReplyUpdate final)
    {
        await CallAsync();
        lock (_gate)
        {
            if (!_logs.TryGetValue(key, out var log) || log.Events is [] or [.., { IsFinal: true }])
            {
                return;
            }

            // As the Redis script: a restart past the next attempt's range, the stored text, the final event.
            var next = Math.Max(log.Events[^1].Sequence, ReplyUpdate.AttemptStart(log.LastAttempt + 1));
            log.Events.Add(new ReplyUpdate(++next, ReplyUpdateKind.Restarted, Text: "ended without the replica that was generating it"));
            if (final.Turn is { Text.Length: > 0 } turn)
            {
                log.Events.Add(new ReplyUpdate(++next, ReplyUpdateKind.Delta, Text: turn.Text));
            }

            log.Events.Add(final with { Sequence = ++next });
        }

        WakeSubscribers(key);
    }

    public async Task<ReplyLogRead> ReadAsync(ReplyKey key, long afterSequence)
    {
        Interlocked.Increment(ref _reads);
        await CallAsync();
        lock (_gate)
        {
            return _logs.TryGetValue(key, out var log) && log.Events.Count > 0
                ? new ReplyLogRead([.. log.Events.Where(e => e.Sequence > afterSequence)], Missing: false)
                : ReplyLogRead.None;
        }
    }

    /// <summary>The log's first event stands for its first entry (this fake keeps no entry boundaries).</summary>
    public async Task<ReplyLogRead> ReadFirstAsync(ReplyKey key)
    {
        Interlocked.Increment(ref _reads);
        await CallAsync();
        lock (_gate)
        {
            return _logs.TryGetValue(key, out var log) && log.Events.Count > 0
                ? new ReplyLogRead([log.Events[0]], Missing: false)
                : ReplyLogRead.None;
        }
    }

    public Task DeleteAsync(ReplyKey key)
    {
        if (Unavailable)
        {
            throw new ReplyLogUnavailableException("the fake log is unavailable");
        }

        lock (_gate)
        {
            _logs.Remove(key);
        }

        return Task.CompletedTask;
    }

    /// <summary>The fake log knows no replicas: a cancel learns the generating one from the lease.</summary>
    public Task<string?> WriterAsync(ReplyKey key) => Task.FromResult<string?>(null);

    public async Task<IAsyncDisposable?> SubscribeAsync(ReplyKey key, Action wake)
    {
        if (Unavailable)
        {
            if (SubscribeDelay > TimeSpan.Zero)
            {
                await Task.Delay(SubscribeDelay);
            }

            return null;
        }

        var subscription = new Subscription(this, key, wake);
        lock (_gate)
        {
            _subscriptions.Add(subscription);
        }

        return subscription;
    }

    private async Task CallAsync()
    {
        if (CallDelay > TimeSpan.Zero)
        {
            await Task.Delay(CallDelay);
        }

        if (Unavailable)
        {
            throw new ReplyLogUnavailableException("the fake log is unavailable");
        }
    }

    private Log LogLocked(ReplyKey key)
    {
        if (!_logs.TryGetValue(key, out var log))
        {
            _logs[key] = log = new Log();
        }

        return log;
    }

    private void WakeSubscribers(ReplyKey key)
    {
        List<Subscription> live;
        lock (_gate)
        {
            live = [.. _subscriptions.Where(s => s.Key == key && !s.Disposed)];
        }

        foreach (var subscription in live)
        {
            Interlocked.Increment(ref _wakes);
            subscription.Wake();
        }
    }

    private sealed class Log
    {
        public List<ReplyUpdate> Events { get; } = [];

        public int LastAttempt { get; set; }
    }

    private sealed class Subscription(FakeReplyLog owner, ReplyKey key, Action wake) : IAsyncDisposable
    {
        public ReplyKey Key { get; } = key;

        public Action Wake { get; } = wake;

        public bool Disposed { get; private set; }

        public ValueTask DisposeAsync()
        {
            lock (owner._gate)
            {
                Disposed = true;
            }

            return ValueTask.CompletedTask;
        }
    }
}
