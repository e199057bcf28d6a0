using Grpc.Core;
using Spanner.Client;
using Spanner.Client.Internal;

namespace ChatService.Tests.Spanner;

public sealed class RetryPolicyTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan Max = TimeSpan.FromMilliseconds(320);

    private readonly RecordingTimeProvider _time = new();

    [Fact]
    public async Task RunAsync_ServerSentRetryInfo_WaitsExactlyThatDelay()
    {
        var policy = new RetryPolicy(Initial, Max, TimeSpan.FromMinutes(1), _time);
        var attempts = 0;

        var result = await _time.DriveAsync(policy.RunAsync(
            (_, _) => ++attempts < 3 ? throw Aborted(TimeSpan.FromMilliseconds(1500)) : Task.FromResult("done"),
            null,
            CancellationToken.None));

        Assert.Equal("done", result);
        Assert.Equal(3, attempts);
        Assert.Equal([TimeSpan.FromMilliseconds(1500), TimeSpan.FromMilliseconds(1500)], _time.Delays);
    }

    [Fact]
    public async Task RunAsync_NoRetryInfo_BackoffDoublesWithJitterAndIsCapped()
    {
        var policy = new RetryPolicy(Initial, Max, TimeSpan.FromMinutes(1), _time);
        var attempts = 0;

        await _time.DriveAsync(policy.RunAsync(
            (_, _) => ++attempts <= 9 ? throw Aborted() : Task.FromResult(0),
            null,
            CancellationToken.None));

        var delays = _time.Delays;
        Assert.Equal(9, delays.Count);
        for (var i = 0; i < delays.Count; i++)
        {
            var ceiling = TimeSpan.FromTicks(Math.Min(Initial.Ticks << i, Max.Ticks));
            Assert.InRange(delays[i], ceiling / 2, ceiling);
        }

        Assert.True(delays[4] > delays[0] * 2, "later delays are longer");
        Assert.All(delays.Skip(5), d => Assert.InRange(d, Max / 2, Max));
    }

    [Fact]
    public async Task RunAsync_KeepsAborting_StopsAtTheDeadline()
    {
        var timeout = TimeSpan.FromSeconds(1);
        var policy = new RetryPolicy(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(400), timeout, _time);
        var started = _time.GetUtcNow();
        var attempts = 0;

        var error = await Assert.ThrowsAsync<SpannerException>(() => _time.DriveAsync(policy.RunAsync<int>(
            (_, _) =>
            {
                attempts++;
                throw Aborted();
            },
            null,
            CancellationToken.None)));

        Assert.Equal(SpannerErrorCode.Aborted, error.ErrorCode);
        Assert.Contains($"Gave up after {attempts} aborted attempt", error.Message);
        Assert.IsType<SpannerException>(error.InnerException);
        Assert.InRange(attempts, 3, 12);
        Assert.True(_time.GetUtcNow() - started < timeout, "no attempt starts after the deadline");
    }

    [Fact]
    public async Task RunAsync_RetryInfoBeyondTheDeadline_GivesUpWithoutWaiting()
    {
        var policy = new RetryPolicy(Initial, Max, TimeSpan.FromSeconds(5), _time);

        await Assert.ThrowsAsync<SpannerException>(() => _time.DriveAsync(policy.RunAsync<int>(
            (_, _) => throw Aborted(TimeSpan.FromSeconds(10)), null, CancellationToken.None)));

        Assert.Empty(_time.Delays);
    }

    [Theory]
    [InlineData(StatusCode.FailedPrecondition)]
    [InlineData(StatusCode.Unavailable)]
    [InlineData(StatusCode.NotFound)]
    public async Task RunAsync_NonAbortedSpannerError_IsNotRetried(StatusCode code)
    {
        var policy = new RetryPolicy(Initial, Max, TimeSpan.FromMinutes(1), _time);
        var attempts = 0;

        var error = await Assert.ThrowsAsync<SpannerException>(() => policy.RunAsync<int>(
            (_, _) =>
            {
                attempts++;
                throw new SpannerException(code, "nope");
            },
            null,
            CancellationToken.None));

        Assert.Equal(code, error.StatusCode);
        Assert.Equal(1, attempts);
        Assert.Empty(_time.Delays);
    }

    [Fact]
    public async Task RunAsync_WorkException_PropagatesUnchanged()
    {
        var policy = new RetryPolicy(Initial, Max, TimeSpan.FromMinutes(1), _time);
        var thrown = new InvalidOperationException("boom");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => policy.RunAsync<int>((_, _) => throw thrown, null, CancellationToken.None));

        Assert.Same(thrown, error);
    }

    [Fact]
    public async Task RunAsync_CanceledWhileWaiting_ThrowsOperationCanceled()
    {
        var policy = new RetryPolicy(Initial, Max, TimeSpan.FromMinutes(1), _time);
        using var cts = new CancellationTokenSource();

        var run = policy.RunAsync<int>(
            (_, _) =>
            {
                cts.Cancel();
                throw Aborted(TimeSpan.FromSeconds(1));
            },
            null,
            cts.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task RunAsync_OnRetry_ReportsEachFailedAttemptAndDelay()
    {
        var policy = new RetryPolicy(Initial, Max, TimeSpan.FromMinutes(1), _time);
        var reported = new List<(int Attempt, TimeSpan Delay)>();
        var attempts = 0;

        await _time.DriveAsync(policy.RunAsync(
            (_, _) => ++attempts < 3 ? throw Aborted(TimeSpan.FromMilliseconds(attempts)) : Task.FromResult(0),
            (_, attempt, delay) => reported.Add((attempt, delay)),
            CancellationToken.None));

        Assert.Equal([(1, TimeSpan.FromMilliseconds(1)), (2, TimeSpan.FromMilliseconds(2))], reported);
    }

    private static SpannerException Aborted(TimeSpan? retryDelay = null) =>
        new(StatusCode.Aborted, "Transaction was aborted.", retryDelay: retryDelay);
}
