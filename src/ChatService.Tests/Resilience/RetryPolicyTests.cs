using ChatService.Chats;
using ChatService.Resilience;
using ChatService.Storage;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Resilience;

public sealed class RetryPolicyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static TimerSignallingClock Clock() => new();

    private static RetryPolicy Policy(
        TimeProvider clock,
        Random? random = null,
        int maxAttempts = int.MaxValue,
        TimeSpan? deadline = null,
        Func<Exception, bool>? shouldRetry = null,
        TimeSpan? maxServerDelay = null) =>
        new(
            new RetryPolicyOptions
            {
                Name = "test",
                ShouldRetry = shouldRetry ?? RetryFilters.Retryable,
                InitialDelay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(1),
                MaxAttempts = maxAttempts,
                Deadline = deadline ?? Timeout.InfiniteTimeSpan,
                MaxServerDelay = maxServerDelay ?? TimeSpan.MaxValue,
            },
            clock,
            random: random);

    // Through Storage's translation, so the loops are tested on what the stores really throw.
    private static StorageException Unavailable(TimeSpan? retryDelay = null) =>
        Failed(new SpannerException(StatusCode.Unavailable, "try later", retryDelay: retryDelay));

    private static StorageException Failed(SpannerException exception) => SpannerErrors.ToStorage(exception);

    /// <summary>
    /// Runs the policy over an attempt that fails while <paramref name="failures"/> gives an exception
    /// for its number, moving the clock on by exactly each wait the policy chose.
    /// </summary>
    private static async Task<Run> RunAsync(TimerSignallingClock clock, RetryPolicy policy, Func<int, Exception?> failures)
    {
        var run = new Run();
        var execution = Task.Run(() => policy.ExecuteAsync(
            _ =>
            {
                run.AttemptTimes.Add(clock.GetUtcNow());
                return failures(run.AttemptTimes.Count) is { } failure ? Task.FromException<int>(failure) : Task.FromResult(run.AttemptTimes.Count);
            },
            run.Retries.Add,
            Ct));
        while (await Task.WhenAny(execution, clock.WaitForTimerAsync(Ct)) != execution)
        {
            // The policy reports a retry before it starts waiting, so the last one is the wait now pending.
            clock.Advance(run.Retries[^1].Delay);
        }

        try
        {
            await execution;
        }
        catch (Exception ex)
        {
            run.Thrown = ex;
        }

        return run;
    }

    [Fact]
    public void Backoff_DoublesUpToTheCap_WithJitterWithinTwentyPercent()
    {
        var clock = Clock();
        var low = Policy(clock, new FixedRandom(0));
        var high = Policy(clock, new FixedRandom(0.999999));
        var ceilings = new[] { 100, 200, 400, 800, 1000, 1000 }.Select(ms => TimeSpan.FromMilliseconds(ms)).ToArray();

        for (var attempt = 1; attempt <= ceilings.Length; attempt++)
        {
            Assert.Equal(ceilings[attempt - 1] * 0.8, low.Backoff(attempt));
            Assert.InRange(high.Backoff(attempt), ceilings[attempt - 1] * 1.199, ceilings[attempt - 1] * 1.2);
        }
    }

    [Fact]
    public void Backoff_IsSpreadAcrossTheRange_AndNeverLeavesIt()
    {
        var policy = Policy(Clock(), new Random(1234));

        var delays = Enumerable.Range(0, 200).Select(_ => policy.Backoff(3)).ToList();

        Assert.All(delays, d => Assert.InRange(d, TimeSpan.FromMilliseconds(320), TimeSpan.FromMilliseconds(480)));
        Assert.True(delays.Distinct().Count() > 100, "jitter should spread the waits");
    }

    [Fact]
    public void Backoff_OfALoopThatRetriesForever_StaysAtTheCap()
    {
        var policy = Policy(Clock(), new FixedRandom(0.5));

        Assert.Equal(TimeSpan.FromSeconds(1), policy.Backoff(int.MaxValue));
    }

    [Fact]
    public async Task ExecuteAsync_RetriesRetryableFailures_WithGrowingJitteredDelays_UntilSuccess()
    {
        var clock = Clock();
        var policy = Policy(clock, new FixedRandom(0.5));

        var run = await RunAsync(clock, policy, n => n <= 3 ? Unavailable() : null);

        Assert.Null(run.Thrown);
        Assert.Equal(4, run.AttemptTimes.Count);
        Assert.Equal([1, 2, 3], run.Retries.Select(r => r.Attempt));
        Assert.Equal([100, 200, 400], run.Retries.Select(r => r.Delay.TotalMilliseconds));
        // Each attempt started after its wait, on the fake clock.
        var start = run.AttemptTimes[0];
        Assert.Equal([0, 100, 300, 700], run.AttemptTimes.Select(t => (t - start).TotalMilliseconds));
    }

    [Fact]
    public async Task ExecuteAsync_ServerDelay_WinsOverBackoff()
    {
        var clock = Clock();
        var policy = Policy(clock, new FixedRandom(0.5));

        var run = await RunAsync(clock, policy, n => n == 1 ? Unavailable(retryDelay: TimeSpan.FromSeconds(5)) : null);

        Assert.Null(run.Thrown);
        var retry = Assert.Single(run.Retries);
        // Exactly what the server asked for: no jitter, and not capped by MaxDelay (1 s).
        Assert.Equal(TimeSpan.FromSeconds(5), retry.Delay);
        Assert.Equal(TimeSpan.FromSeconds(5), run.AttemptTimes[1] - run.AttemptTimes[0]);
    }

    [Fact]
    public async Task ExecuteAsync_ServerDelayOverMaxServerDelay_IsCutToIt()
    {
        var clock = Clock();
        var policy = Policy(clock, new FixedRandom(0.5), maxServerDelay: TimeSpan.FromSeconds(2));

        var run = await RunAsync(clock, policy, n => n == 1 ? Unavailable(retryDelay: TimeSpan.FromSeconds(30)) : null);

        Assert.Null(run.Thrown);
        Assert.Equal(TimeSpan.FromSeconds(2), Assert.Single(run.Retries).Delay);
        Assert.Equal(TimeSpan.FromSeconds(2), run.AttemptTimes[1] - run.AttemptTimes[0]);
    }

    [Fact]
    public async Task ExecuteAsync_NonRetryableFailure_IsThrownAtOnce()
    {
        var clock = Clock();
        var policy = Policy(clock);
        var invalid = Failed(new SpannerException(StatusCode.InvalidArgument, "bad statement"));

        var run = await RunAsync(clock, policy, _ => invalid);

        Assert.Same(invalid, run.Thrown);
        Assert.Single(run.AttemptTimes);
        Assert.Empty(run.Retries);
    }

    [Fact]
    public async Task ExecuteAsync_Deadline_StopsBeforeAnAttemptThatWouldStartPastIt()
    {
        var clock = Clock();
        // Waits of 100, 200, 400 ms: the third retry would start at 700 ms, past the 500 ms deadline.
        var policy = Policy(clock, new FixedRandom(0.5), deadline: TimeSpan.FromMilliseconds(500));
        var last = Unavailable();

        var run = await RunAsync(clock, policy, n => n < 3 ? Unavailable() : last);

        Assert.Same(last, run.Thrown);
        Assert.Equal(3, run.AttemptTimes.Count);
        Assert.Equal(TimeSpan.FromMilliseconds(300), run.AttemptTimes[^1] - run.AttemptTimes[0]);
    }

    [Fact]
    public async Task ExecuteAsync_Deadline_RefusesAServerDelayThatEndsPastIt()
    {
        var clock = Clock();
        var policy = Policy(clock, deadline: TimeSpan.FromSeconds(2));
        var slowDown = Unavailable(retryDelay: TimeSpan.FromSeconds(10));

        var run = await RunAsync(clock, policy, _ => slowDown);

        // Retrying sooner than the server asked would not help, and waiting would break the deadline.
        Assert.Same(slowDown, run.Thrown);
        Assert.Single(run.AttemptTimes);
    }

    [Fact]
    public async Task ExecuteAsync_MaxAttempts_CountsTheFirstAttempt()
    {
        var clock = Clock();
        var policy = Policy(clock, maxAttempts: 3);

        var run = await RunAsync(clock, policy, _ => Unavailable());

        Assert.IsType<StorageException>(run.Thrown);
        Assert.Equal(3, run.AttemptTimes.Count);
        Assert.Equal(2, run.Retries.Count);
    }

    [Fact]
    public async Task ExecuteAsync_CallerCancellation_IsNotRetried()
    {
        var clock = Clock();
        var policy = Policy(clock, shouldRetry: _ => true);
        using var caller = new CancellationTokenSource();
        var attempts = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => policy.ExecuteAsync(
            ct =>
            {
                attempts++;
                caller.Cancel();
                ct.ThrowIfCancellationRequested();
                return Task.CompletedTask;
            },
            onRetry: null,
            caller.Token));

        Assert.Equal(1, attempts);
    }

    [Fact]
    public void TryGetRetryDelay_ForLoopsOutsideThePipeline_AppliesTheSameLimits()
    {
        var policy = Policy(Clock(), new FixedRandom(0.5), maxAttempts: 3, deadline: TimeSpan.FromSeconds(1));

        // A failure the loop judged retryable itself (no exception) gets the backoff.
        Assert.True(policy.TryGetRetryDelay(1, failure: null, TimeSpan.Zero, out var first));
        Assert.Equal(TimeSpan.FromMilliseconds(100), first);
        Assert.True(policy.TryGetRetryDelay(2, Unavailable(TimeSpan.FromMilliseconds(300)), TimeSpan.Zero, out var server));
        Assert.Equal(TimeSpan.FromMilliseconds(300), server);
        Assert.False(policy.TryGetRetryDelay(3, null, TimeSpan.Zero, out _));
        Assert.False(policy.TryGetRetryDelay(1, Failed(new SpannerException(StatusCode.NotFound, "gone")), TimeSpan.Zero, out _));
        Assert.False(policy.TryGetRetryDelay(1, null, TimeSpan.FromMilliseconds(950), out _));
    }

    private sealed class Run
    {
        public List<DateTimeOffset> AttemptTimes { get; } = [];

        public List<RetryAttempt> Retries { get; } = [];

        public Exception? Thrown { get; set; }
    }
}
