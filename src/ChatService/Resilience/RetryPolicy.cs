using Polly;
using Polly.Retry;
using Polly.Telemetry;

namespace ChatService.Resilience;

/// <summary>
/// The one retry policy of the service: a failure is retried when the loop's filter says it may
/// succeed, after the delay the server asked for when it gave one, else after exponential backoff
/// with ±20% jitter; and not once the attempts are used up or the next attempt would start after
/// the deadline. Runs on a Polly pipeline with the injected <see cref="TimeProvider"/>, so waits
/// and the deadline follow a fake clock in tests. Thread-safe; one instance per loop.
/// </summary>
public sealed class RetryPolicy
{
    /// <summary>The meter Polly reports retries and attempt durations on.</summary>
    public const string MeterName = "Polly";

    private const double Jitter = 0.2;

    private static readonly ResiliencePropertyKey<long> StartedKey = new("chat.retry.started");
    private static readonly ResiliencePropertyKey<TimeSpan> DelayKey = new("chat.retry.delay");
    private static readonly ResiliencePropertyKey<Action<RetryAttempt>?> OnRetryKey = new("chat.retry.on_retry");

    private readonly RetryPolicyOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Random _random;
    private readonly ResiliencePipeline _pipeline;

    /// <param name="telemetry">Where Polly reports; null reports nothing (for loops that only use <see cref="TryGetRetryDelay"/>).</param>
    /// <param name="random">The source of jitter; tests fix it.</param>
    public RetryPolicy(RetryPolicyOptions options, TimeProvider timeProvider, TelemetryOptions? telemetry = null, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InitialDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDelay, options.InitialDelay);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxAttempts, 1);
        if (options.Deadline != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(options.Deadline, TimeSpan.Zero);
        }

        _options = options;
        _timeProvider = timeProvider;
        _random = random ?? Random.Shared;

        var builder = new ResiliencePipelineBuilder { Name = options.Name, TimeProvider = timeProvider };
        builder.AddRetry(new RetryStrategyOptions
        {
            // The attempt limit and the deadline are decided with the delay, in ShouldHandle: Polly's own limit stays out of the way.
            MaxRetryAttempts = int.MaxValue,
            ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Context, args.Outcome.Exception, args.AttemptNumber + 1)),
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(args.Context.Properties.GetValue(DelayKey, TimeSpan.Zero)),
            OnRetry = args =>
            {
                if (args.Context.Properties.GetValue(OnRetryKey, null) is { } onRetry && args.Outcome.Exception is { } failure)
                {
                    onRetry(new RetryAttempt(args.AttemptNumber + 1, args.RetryDelay, failure));
                }

                return default;
            },
        });
        if (telemetry is not null)
        {
            builder.ConfigureTelemetry(telemetry);
        }

        _pipeline = builder.Build();
    }

    /// <summary>The loop this policy serves, as its options name it.</summary>
    public string Name => _options.Name;

    /// <summary>
    /// Runs <paramref name="attempt"/> until it succeeds or the policy gives up, which throws the
    /// last failure. <paramref name="onRetry"/> is called before each wait, e.g. to log the attempt.
    /// </summary>
    public async Task<T> ExecuteAsync<T>(Func<CancellationToken, Task<T>> attempt, Action<RetryAttempt>? onRetry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            context.Properties.Set(StartedKey, _timeProvider.GetTimestamp());
            context.Properties.Set(OnRetryKey, onRetry);
            return await _pipeline.ExecuteAsync(static async (ctx, run) => await run(ctx.CancellationToken), context, attempt);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <inheritdoc cref="ExecuteAsync{T}(Func{CancellationToken, Task{T}}, Action{RetryAttempt}?, CancellationToken)"/>
    public Task ExecuteAsync(Func<CancellationToken, Task> attempt, Action<RetryAttempt>? onRetry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        return ExecuteAsync(
            async ct =>
            {
                await attempt(ct);
                return true;
            },
            onRetry,
            cancellationToken);
    }

    /// <summary>
    /// The same decision for a loop that cannot run inside <see cref="ExecuteAsync{T}"/> (one that
    /// yields events between attempts): whether to retry after failed attempt
    /// <paramref name="failedAttempt"/> (from 1), <paramref name="elapsed"/> after the first one
    /// started, and how long to wait first. A <paramref name="failure"/> of null is one the loop
    /// has judged retryable itself (it has no exception to filter).
    /// </summary>
    public bool TryGetRetryDelay(int failedAttempt, Exception? failure, TimeSpan elapsed, out TimeSpan delay)
    {
        delay = TimeSpan.Zero;
        if (failedAttempt >= _options.MaxAttempts || (failure is not null && !_options.ShouldRetry(failure)))
        {
            return false;
        }

        // The server's delay wins over the backoff, without jitter, up to MaxServerDelay.
        delay = (failure is null ? null : _options.ServerDelay(failure)) is { } asked
            ? (asked < _options.MaxServerDelay ? asked : _options.MaxServerDelay)
            : Backoff(failedAttempt);
        return _options.Deadline == Timeout.InfiniteTimeSpan || elapsed + delay <= _options.Deadline;
    }

    /// <summary>
    /// The backoff after failed attempt <paramref name="failedAttempt"/>: the initial delay doubled per
    /// further attempt up to the maximum, then spread ±20% so replicas that failed together do not
    /// retry together.
    /// </summary>
    public TimeSpan Backoff(int failedAttempt)
    {
        // Doubling stops at the cap, so a loop that retries forever never overflows.
        var ceiling = _options.InitialDelay.Ticks;
        for (var i = 1; i < failedAttempt && ceiling > 0 && ceiling < _options.MaxDelay.Ticks; i++)
        {
            ceiling *= 2;
        }

        ceiling = Math.Min(ceiling, _options.MaxDelay.Ticks);
        return TimeSpan.FromTicks((long)(ceiling * (1 - Jitter + 2 * Jitter * _random.NextDouble())));
    }

    private bool ShouldRetry(ResilienceContext context, Exception? failure, int failedAttempt)
    {
        // The caller's cancellation is an answer, not a failure to retry.
        if (failure is null || context.CancellationToken.IsCancellationRequested)
        {
            return false;
        }

        var elapsed = _timeProvider.GetElapsedTime(context.Properties.GetValue(StartedKey, 0L));
        if (!TryGetRetryDelay(failedAttempt, failure, elapsed, out var delay))
        {
            return false;
        }

        context.Properties.Set(DelayKey, delay);
        return true;
    }
}
