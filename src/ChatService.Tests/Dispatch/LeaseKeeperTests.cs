using ChatService.Chats;
using ChatService.Dispatch;
using ChatService.Tests.Resilience;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// The lease keeper that replies and deletions of users' data share, on a fake clock moved exactly when the
/// keeper waits: it renews every third of the lease and never after it was stopped (nor while a renewal is in
/// flight past its stop); a renewal that throws is reported and tried again a third later; a lost lease
/// cancels the work and ends the renewals; a cancel asked elsewhere runs the callback and ends them.
/// </summary>
public sealed class LeaseKeeperTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan Third = TimeSpan.FromSeconds(1);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RenewsEveryThirdOfTheLease_UntilStopped()
    {
        var clock = new TimerSignallingClock();
        var start = clock.GetUtcNow();
        var renewals = new Renewals(clock, _ => LeaseStatus.Held);
        using var work = new CancellationTokenSource();
        using var keeper = new LeaseKeeper(renewals.RenewAsync, Lease, clock, work);

        for (var n = 1; n <= 3; n++)
        {
            await clock.WaitForTimerAsync(Ct);
            clock.Advance(Third - TimeSpan.FromMilliseconds(1));
            clock.Advance(TimeSpan.FromMilliseconds(1));
            await renewals.WaitForAsync(n);
        }

        await keeper.StopAsync();
        clock.Advance(Lease * 10);

        Assert.Equal([start + Third, start + (2 * Third), start + (3 * Third)], renewals.Times);
        Assert.False(keeper.Lost);
        Assert.False(work.IsCancellationRequested);
    }

    [Fact]
    public async Task ARenewalThatThrows_IsReported_AndTriedAgainAThirdLater_WhileTheWorkGoesOn()
    {
        var clock = new TimerSignallingClock();
        var start = clock.GetUtcNow();
        var outage = new InvalidOperationException("spanner is down");
        var renewals = new Renewals(clock, n => n == 1 ? throw outage : LeaseStatus.Held);
        var failures = new List<Exception>();
        using var work = new CancellationTokenSource();
        using var keeper = new LeaseKeeper(renewals.RenewAsync, Lease, clock, work, renewalFailed: ex => { lock (failures) { failures.Add(ex); } });

        for (var n = 1; n <= 2; n++)
        {
            await clock.WaitForTimerAsync(Ct);
            clock.Advance(Third);
            await renewals.WaitForAsync(n);
        }

        await keeper.StopAsync();

        Assert.Equal([start + Third, start + (2 * Third)], renewals.Times);
        Assert.Same(outage, Assert.Single(failures));
        Assert.False(keeper.Lost);
        Assert.False(work.IsCancellationRequested);
    }

    [Fact]
    public async Task ALostLease_CancelsTheWork_AndEndsTheRenewals()
    {
        var clock = new TimerSignallingClock();
        var renewals = new Renewals(clock, n => n == 2 ? LeaseStatus.Lost : LeaseStatus.Held);
        using var work = new CancellationTokenSource();
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = work.Token.Register(() => cancelled.TrySetResult());
        var cancelAsked = false;
        using var keeper = new LeaseKeeper(renewals.RenewAsync, Lease, clock, work, cancelRequested: () => cancelAsked = true);

        await clock.WaitForTimerAsync(Ct);
        clock.Advance(Third);
        await renewals.WaitForAsync(1);
        Assert.False(work.IsCancellationRequested);

        await clock.WaitForTimerAsync(Ct);
        clock.Advance(Third);
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        // No renewal is waited for after the lease is lost: the loop ended without starting another delay.
        Assert.False(await clock.WaitForTimerAsync(Ct).WaitAsync(TimeSpan.FromMilliseconds(500), Ct).ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default),
            "the keeper went on waiting to renew a lease it lost");
        clock.Advance(Lease * 10);
        await keeper.StopAsync();
        Assert.Equal(2, renewals.Times.Count);
        Assert.True(keeper.Lost);
        Assert.False(cancelAsked);
    }

    [Fact]
    public async Task ACancelAskedElsewhere_RunsTheCallback_AndEndsTheRenewals_WithoutCancellingTheWork()
    {
        var clock = new TimerSignallingClock();
        var renewals = new Renewals(clock, _ => LeaseStatus.CancelRequested);
        using var work = new CancellationTokenSource();
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var keeper = new LeaseKeeper(renewals.RenewAsync, Lease, clock, work, cancelRequested: () => asked.TrySetResult());

        await clock.WaitForTimerAsync(Ct);
        clock.Advance(Third);
        await asked.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.False(await clock.WaitForTimerAsync(Ct).WaitAsync(TimeSpan.FromMilliseconds(500), Ct).ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default),
            "the keeper went on renewing a reply whose cancel was asked");
        clock.Advance(Lease * 10);
        await keeper.StopAsync();
        Assert.Single(renewals.Times);
        Assert.False(keeper.Lost);
        Assert.False(work.IsCancellationRequested);
    }

    [Fact]
    public async Task StopAsync_WaitsForARenewalInFlight_SoNothingExtendsTheLeaseAfterIt()
    {
        var clock = new TimerSignallingClock();
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource<LeaseStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        using var work = new CancellationTokenSource();
        using var keeper = new LeaseKeeper(
            _ =>
            {
                // A commit already sent: it lands whatever the keeper's token says.
                Interlocked.Increment(ref calls);
                inFlight.TrySetResult();
                return release.Task;
            },
            Lease,
            clock,
            work);

        await clock.WaitForTimerAsync(Ct);
        clock.Advance(Third);
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        var stop = keeper.StopAsync();
        await Task.Delay(200, Ct);
        Assert.False(stop.IsCompleted, "StopAsync returned while a renewal was still in flight");

        release.SetResult(LeaseStatus.Held);
        await stop.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        clock.Advance(Lease * 10);
        Assert.Equal(1, Volatile.Read(ref calls));
    }

    /// <summary>The renewals a keeper made: when (on the fake clock), each answered by the script (by its number, from 1).</summary>
    private sealed class Renewals(TimeProvider clock, Func<int, LeaseStatus> script)
    {
        private readonly List<DateTimeOffset> _times = [];
        private readonly SemaphoreSlim _made = new(0);

        public IReadOnlyList<DateTimeOffset> Times
        {
            get
            {
                lock (_times)
                {
                    return [.. _times];
                }
            }
        }

        public Task<LeaseStatus> RenewAsync(CancellationToken cancellationToken)
        {
            int n;
            lock (_times)
            {
                _times.Add(clock.GetUtcNow());
                n = _times.Count;
            }

            _made.Release();
            return Task.FromResult(script(n));
        }

        /// <summary>Waits (10 s at most) until the keeper made its <paramref name="n"/>th renewal.</summary>
        public async Task WaitForAsync(int n)
        {
            while (Times.Count < n)
            {
                Assert.True(await _made.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken), $"renewal {n} did not come");
            }
        }
    }
}
