using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace ChatService.Dispatch;

/// <summary>
/// The bounded in-process queue of reply jobs and the workers that serve it. Enqueueing never
/// waits: a full queue is the caller's RESOURCE_EXHAUSTED, and the owed reply is still
/// delivered later by recovery. On shutdown it stops taking work, lets replies in flight finish
/// within <see cref="DispatchOptions.ShutdownGrace"/>, and leaves the rest owed.
/// </summary>
public sealed partial class ReplyDispatcher : BackgroundService
{
    private readonly Channel<ReplyJob> _queue;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();
    private readonly CancellationTokenSource _abandon = new();
    private readonly TimeProvider _timeProvider;
    private readonly DispatchOptions _options;
    private readonly ILogger<ReplyDispatcher> _logger;

    private readonly IReplySignals _signals;
    private readonly ReplyServices _services;

    public ReplyDispatcher(IReplySignals signals, ReplyServices services, TimeProvider timeProvider, IOptions<DispatchOptions> options, ILogger<ReplyDispatcher> logger)
    {
        _signals = signals;
        _services = services;
        _timeProvider = timeProvider;
        _options = options.Value;
        _logger = logger;
        _queue = Channel.CreateBounded<ReplyJob>(new BoundedChannelOptions(_options.QueueCapacity) { SingleReader = true });
        _slots = new SemaphoreSlim(_options.MaxConcurrentReplies);
        DispatchMetrics.ObserveQueue(() => _queue.Reader.Count, () => _inFlight.Count);
    }

    /// <summary>False once shutdown has begun: no new work is taken.</summary>
    public bool IsAcceptingWork { get; private set; } = true;

    /// <summary>
    /// Queues replies just opened here, in order, as one job. When the queue is full or shutdown
    /// has begun, hands them over (leases released, so recovery delivers them here or on another
    /// replica) and returns false.
    /// </summary>
    /// <param name="opened">Replies this replica holds the lease of, just opened.</param>
    /// <param name="caller">The trace context of the request that owes the replies; default for recovered ones.</param>
    public async Task<bool> TryDispatchAsync(IReadOnlyList<OwnedReply> opened, ActivityContext caller = default)
    {
        var job = new ReplyJob(opened, _timeProvider.GetUtcNow(), caller);
        if (opened.Count == 0 || (IsAcceptingWork && _queue.Writer.TryWrite(job)))
        {
            return true;
        }

        DispatchMetrics.JobRejected();
        await HandOverAsync(job);
        return false;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                // A worker first, then a job: jobs wait in the queue (whose capacity is what
                // callers are promised), never in hand.
                await _slots.WaitAsync(stoppingToken);
                if (!await _queue.Reader.WaitToReadAsync(stoppingToken))
                {
                    _slots.Release();
                    return;
                }

                if (!_queue.Reader.TryRead(out var job))
                {
                    _slots.Release();
                    continue;
                }

                var run = RunAsync(job);
                _inFlight.TryAdd(run, 0);
                _ = run.ContinueWith(t => _inFlight.TryRemove(t, out _), TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: jobs still queued are handed over in StopAsync.
        }
    }

    /// <summary>Free places in the queue right now.</summary>
    public int FreeCapacity => Math.Max(0, _options.QueueCapacity - _queue.Reader.Count);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        IsAcceptingWork = false;
        _queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
        var handedOver = false;
        while (_queue.Reader.TryRead(out var queued))
        {
            await HandOverAsync(queued);
            handedOver = true;
        }

        var inFlight = _inFlight.Keys.ToArray();
        var finished = Task.WhenAll(inFlight);
        if (await Task.WhenAny(finished, Task.Delay(_options.ShutdownGrace, cancellationToken)) != finished)
        {
            Log.AbandoningReplies(_logger, _inFlight.Count);
            await _abandon.CancelAsync();
            await Task.WhenAny(Task.WhenAll(_inFlight.Keys.ToArray()), Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None));
            handedOver = true;
        }

        // Final events of replies that settled during the grace still reach their logs before Redis goes.
        await _services.DrainsAsync(TimeSpan.FromSeconds(2));
        if (handedOver)
        {
            // Their leases are released: the other replicas take them over now, not at some later sweep.
            await _signals.PublishHandOverAsync();
        }
    }

    public override void Dispose()
    {
        _abandon.Dispose();
        _slots.Dispose();
        base.Dispose();
    }

    /// <summary>A job this replica will not run: release its leases so recovery takes it now, not in a lease's time.</summary>
    private async Task HandOverAsync(ReplyJob job)
    {
        foreach (var reply in job.Replies)
        {
            await reply.HandOverAsync();
        }
    }

    private async Task RunAsync(ReplyJob job)
    {
        await Task.Yield();
        try
        {
            foreach (var reply in job.Replies)
            {
                await reply.GenerateAsync(job.QueuedAt, job.Caller, _abandon.Token);
            }
        }
        catch (Exception ex)
        {
            // The generator handles its own failures; this is a last guard so a worker never dies silently.
            Log.JobFailed(_logger, ex);
        }
        finally
        {
            _slots.Release();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3001, LogLevel.Warning, "Shutdown grace elapsed with {Count} replies in flight; leaving them owed for recovery.")]
        public static partial void AbandoningReplies(ILogger logger, int count);

        [LoggerMessage(3002, LogLevel.Error, "A reply job failed unexpectedly.")]
        public static partial void JobFailed(ILogger logger, Exception exception);
    }
}
