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
        using var k = new Keeping(_ => LeaseStatus.Held);

        for (var n = 1; n <= 3; n++)
        {
            await k.Clock.WaitForTimerAsync(Ct);
            k.Clock.Advance(Third - TimeSpan.FromMilliseconds(1));
            k.Clock.Advance(TimeSpan.FromMilliseconds(1));
            await k.Renewals.WaitForAsync(n);
        }

        await k.Keeper.StopAsync();
        k.Clock.Advance(Lease * 10);
        // A keeper still renewing would record it on another thread: give it the time to show.
        await Task.Delay(100, Ct);

        Assert.Equal([k.Start + Third, k.Start + (2 * Third), k.Start + (3 * Third)], k.Renewals.Times);
        Assert.False(k.Keeper.Lost);
        Assert.False(k.Work.IsCancellationRequested);
    }

    [Fact]
    public async Task ARenewalThatThrows_IsReported_AndTriedAgainAThirdLater_WhileTheWorkGoesOn()
    {
        var outage = new InvalidOperationException("spanner is down");
        var failures = new List<Exception>();
        using var k = new Keeping(n => n == 1 ? throw outage : LeaseStatus.Held, renewalFailed: ex => { lock (failures) { failures.Add(ex); } });

        await k.RenewAsync(1);
        await k.RenewAsync(2);
        await k.Keeper.StopAsync();

        Assert.Equal([k.Start + Third, k.Start + (2 * Third)], k.Renewals.Times);
        Assert.Same(outage, Assert.Single(failures));
        Assert.False(k.Keeper.Lost);
        Assert.False(k.Work.IsCancellationRequested);
    }

    [Fact]
    public async Task ALostLease_CancelsTheWork_AndEndsTheRenewals()
    {
        var cancelAsked = false;
        using var k = new Keeping(n => n == 2 ? LeaseStatus.Lost : LeaseStatus.Held, cancelRequested: () => cancelAsked = true);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = k.Work.Token.Register(() => cancelled.TrySetResult());

        await k.RenewAsync(1);
        Assert.False(k.Work.IsCancellationRequested);

        await k.Clock.WaitForTimerAsync(Ct);
        k.Clock.Advance(Third);
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        // No renewal is waited for after the lease is lost: the loop ended without starting another delay.
        await k.AssertNoFurtherDelayAsync("the keeper went on waiting to renew a lease it lost");
        Assert.Equal(2, k.Renewals.Times.Count);
        Assert.True(k.Keeper.Lost);
        Assert.False(cancelAsked);
    }

    [Fact]
    public async Task ACancelAskedElsewhere_RunsTheCallback_AndEndsTheRenewals_WithoutCancellingTheWork()
    {
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var k = new Keeping(_ => LeaseStatus.CancelRequested, cancelRequested: () => asked.TrySetResult());

        await k.Clock.WaitForTimerAsync(Ct);
        k.Clock.Advance(Third);
        await asked.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        await k.AssertNoFurtherDelayAsync("the keeper went on renewing a reply whose cancel was asked");
        Assert.Single(k.Renewals.Times);
        Assert.False(k.Keeper.Lost);
        Assert.False(k.Work.IsCancellationRequested);
    }

    [Fact]
    public async Task StopAsync_WaitsForARenewalInFlight_SoNothingExtendsTheLeaseAfterIt()
    {
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource<LeaseStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        using var k = new Keeping(renew: _ =>
        {
            // A commit already sent: it lands whatever the keeper's token says.
            Interlocked.Increment(ref calls);
            inFlight.TrySetResult();
            return release.Task;
        });

        await k.Clock.WaitForTimerAsync(Ct);
        k.Clock.Advance(Third);
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        var stop = k.Keeper.StopAsync();
        await Task.Delay(200, Ct);
        Assert.False(stop.IsCompleted, "StopAsync returned while a renewal was still in flight");

        release.SetResult(LeaseStatus.Held);
        await stop.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        k.Clock.Advance(Lease * 10);
        await Task.Delay(100, Ct);
        Assert.Equal(1, Volatile.Read(ref calls));
    }

    /// <summary>
    /// A keeper on a fake clock, its work's token source and the renewals it made: scripted (answered by
    /// <see cref="Renewals"/>, by their number), or by <paramref name="renew"/> when given.
    /// </summary>
    private sealed class Keeping : IDisposable
    {
        public Keeping(
            Func<int, LeaseStatus>? script = null,
            Func<CancellationToken, Task<LeaseStatus>>? renew = null,
            Action<Exception>? renewalFailed = null,
            Action? cancelRequested = null)
        {
            Start = Clock.GetUtcNow();
            Renewals = new Renewals(Clock, script ?? (_ => LeaseStatus.Held));
            Keeper = new LeaseKeeper(renew ?? Renewals.RenewAsync, Lease, Clock, Work, renewalFailed, cancelRequested);
        }

        public TimerSignallingClock Clock { get; } = new();

        public DateTimeOffset Start { get; }

        public Renewals Renewals { get; }

        public CancellationTokenSource Work { get; } = new();

        public LeaseKeeper Keeper { get; }

        /// <summary>Moves the clock on a third once the keeper waits, and waits for its <paramref name="n"/>th renewal.</summary>
        public async Task RenewAsync(int n)
        {
            await Clock.WaitForTimerAsync(Ct);
            Clock.Advance(Third);
            await Renewals.WaitForAsync(n);
        }

        /// <summary>
        /// Checks that the keeper starts no further delay (500 ms given to it), then moves the clock well past
        /// the lease and stops the keeper.
        /// </summary>
        public async Task AssertNoFurtherDelayAsync(string message)
        {
            Assert.False(await Clock.WaitForTimerAsync(Ct).WaitAsync(TimeSpan.FromMilliseconds(500), Ct).ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default), message);
            Clock.Advance(Lease * 10);
            await Keeper.StopAsync();
        }

        public void Dispose()
        {
            Keeper.Dispose();
            Work.Dispose();
        }
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
