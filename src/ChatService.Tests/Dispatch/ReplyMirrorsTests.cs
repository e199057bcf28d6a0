using System.Diagnostics;
using ChatService.Chats;
using ChatService.Dispatch;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static ChatService.Tests.Dispatch.ReplyEvents;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// <see cref="ReplyMirrors"/> over a <see cref="FakeReplyLog"/> and a <see cref="FakeReplyLedger"/>:
/// one mirror, one subscription and one read per wake-up however many callers follow a reply;
/// storage read once per interval, backing off, for all of them when the log cannot help; back
/// to the log when it answers again; a settled reply finished from storage. Real time, short
/// intervals, bounded waits.
/// </summary>
public sealed class ReplyMirrorsTests
{
    private const string User = "user-1";

    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Storage reads back off from 100 ms to 400 ms; the log is polled every 50 ms without wake-ups; no stall checks.</summary>
    private static DispatchOptions Degraded(TimeSpan? pollInterval = null, TimeSpan? stallCheck = null) => new()
    {
        StoragePollInterval = TimeSpan.FromMilliseconds(100),
        FollowStorageMaxInterval = TimeSpan.FromMilliseconds(400),
        FollowPollInterval = pollInterval ?? TimeSpan.FromMilliseconds(50),
        FollowStallCheck = stallCheck ?? Long,
    };

    [Fact]
    public async Task Follow_TenFollowersOfOneReply_ShareOneMirrorWithOneSubscriptionAndOneLogReadPerWake()
    {
        var key = NewKey();
        var (log, ledger) = (new FakeReplyLog(), new FakeReplyLedger());
        log.Inject(key, attempt: 1, Accepted(1), Started(2));
        var mirrors = Mirrors(log, ledger, new DispatchOptions { FollowPollInterval = Long, FollowStallCheck = Long });
        var leases = Enumerable.Range(0, 10).Select(_ => mirrors.Follow(User, key)).ToList();
        try
        {
            var stream = leases[0].Stream;
            Assert.Equal(1, mirrors.Count);
            Assert.All(leases, lease => Assert.Same(stream, lease.Stream));
            var readers = leases.Select(lease => ReadToEndAsync(lease.Stream)).ToList();
            await UntilAsync(() => stream.LastSequence == 2, Soon, () => "the mirror did not read the log");
            Assert.Equal((1, 1), (log.Subscriptions, log.Reads));

            for (var i = 1; i <= 5; i++)
            {
                await log.AppendAsync(key, 1, [Delta(2 + i, $"d{i} ")]);
                await UntilAsync(() => stream.LastSequence == 2 + i, Soon, () => $"the mirror did not read delta {i} when woken");
                Assert.Equal(1 + i, log.Reads);
            }

            var turn = Turn(key, ReplyState.Complete, "d1 d2 d3 d4 d5 ");
            await log.AppendAsync(key, 1, [Completed(8, turn)]);
            var seen = await Task.WhenAll(readers).WaitAsync(Soon, Ct);

            Assert.All(seen, events => Assert.Equal(log.Events(key), events));
            Assert.Equal((1, 7, 6), (log.Subscriptions, log.Reads, log.Wakes));
            Assert.Equal(0, ledger.Reads);
            // The reply ended: the mirror lets its subscription go.
            await UntilAsync(() => log.ActiveSubscriptions == 0, Soon, () => "the subscription was kept after the final event");
        }
        finally
        {
            leases.ForEach(lease => lease.Dispose());
        }
    }

    [Fact]
    public async Task Dispose_LastFollowerLeaving_DisposesTheSubscriptionAndDropsTheMirror()
    {
        var key = NewKey();
        var (log, ledger) = (new FakeReplyLog(), new FakeReplyLedger());
        log.Inject(key, attempt: 1, Accepted(1), Started(2));
        var mirrors = Mirrors(log, ledger, new DispatchOptions { FollowPollInterval = Long, FollowStallCheck = Long });
        var leases = Enumerable.Range(0, 10).Select(_ => mirrors.Follow(User, key)).ToList();
        var stream = leases[0].Stream;
        await UntilAsync(() => stream.LastSequence == 2, Soon, () => "the mirror did not read the log");

        leases.Skip(1).ToList().ForEach(lease => lease.Dispose());
        await Task.Delay(100, Ct);
        Assert.Equal((1, 1), (log.ActiveSubscriptions, mirrors.Count));
        Assert.False(stream.IsEnded);

        leases[0].Dispose();
        await UntilAsync(() => log.ActiveSubscriptions == 0, Soon, () => "the subscription outlived the last follower");
        Assert.Equal(0, mirrors.Count);
        Assert.True(stream.IsEnded && !stream.IsFinished, "the mirror's stream was not abandoned");

        // A new follower gets a new mirror.
        using var again = mirrors.Follow(User, key);
        Assert.NotSame(stream, again.Stream);
        await UntilAsync(() => again.Stream.LastSequence == 2 && log.Subscriptions == 2, Soon, () => "the new mirror did not follow the log");
    }

    [Fact]
    public async Task LogUnavailable_StorageIsReadOncePerIntervalForAllFollowers_BackingOff_UntilTheReplyIsSettled()
    {
        var key = NewKey();
        var (log, ledger) = (new FakeReplyLog(), new FakeReplyLedger { Reply = Turn(key, ReplyState.Streaming, "") });
        log.Inject(key, attempt: 1, Accepted(1), Started(2), Delta(3, "Hello "));
        var mirrors = Mirrors(log, ledger, Degraded());
        var leases = Enumerable.Range(0, 10).Select(_ => mirrors.Follow(User, key)).ToList();
        try
        {
            var stream = leases[0].Stream;
            var readers = leases.Select(lease => ReadToEndAsync(lease.Stream)).ToList();
            await UntilAsync(() => stream.LastSequence == 3, Soon, () => "the mirror did not read the log");

            log.Unavailable = true;
            // At 0, 100, 300, 700, 1100 and 1500 ms of the outage.
            await UntilAsync(() => ledger.Reads >= 6, Soon, () => $"{ledger.Reads} storage reads");
            var settled = Turn(key, ReplyState.Complete, "Hello world");
            ledger.Reply = settled;
            var seen = await Task.WhenAll(readers).WaitAsync(Soon, Ct);

            List<ReplyUpdate> expected = [Accepted(1), Started(2), Delta(3, "Hello "), Delta(4, "world"), Completed(5, settled)];
            Assert.All(seen, events => Assert.Equal(expected, events));
            AssertBackedOff(ledger.ReadTimes, Degraded());
        }
        finally
        {
            leases.ForEach(lease => lease.Dispose());
        }
    }

    // While Redis is unreachable the mirror does not try to subscribe again on every round (each
    // attempt waits up to 4 x Redis:OperationTimeout): storage reads keep their backoff schedule.
    [Fact]
    public async Task LogUnreachableWithTimeouts_StorageReadsKeepTheirBackoffSchedule()
    {
        var key = NewKey();
        var callTimeout = TimeSpan.FromMilliseconds(50);
        var log = new FakeReplyLog { Unavailable = true, CallDelay = callTimeout, SubscribeDelay = callTimeout * 4 };
        var ledger = new FakeReplyLedger { Reply = Turn(key, ReplyState.Streaming, "") };
        var options = Degraded();
        var mirrors = Mirrors(log, ledger, options);
        var followed = Stopwatch.GetTimestamp();
        using var lease = mirrors.Follow(User, key);
        var reader = ReadToEndAsync(lease.Stream);

        await UntilAsync(() => ledger.Reads >= 4, TimeSpan.FromSeconds(15), () => $"{ledger.Reads} storage reads");
        ledger.Reply = Turn(key, ReplyState.Complete, "done");
        await reader.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        var reads = ledger.ReadTimes;
        TestContext.Current.TestOutputHelper?.WriteLine($"first storage read {Stopwatch.GetElapsedTime(followed, reads[0]).TotalMilliseconds:0} ms after following");
        // Each turn tries the log first: a read may come one call timeout later than its interval.
        AssertBackedOff(reads, options, late: callTimeout + TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task LogUnavailable_StoredTextNotContinuingTheStreamedOne_EndsWithRestartedAndTheWholeText()
    {
        var key = NewKey();
        var settled = Turn(key, ReplyState.Complete, "Bonjour");
        var (log, ledger) = (new FakeReplyLog(), new FakeReplyLedger { Reply = settled });
        log.Inject(key, attempt: 1, Accepted(1), Started(2), Delta(3, "Hello "));
        var mirrors = Mirrors(log, ledger, Degraded());
        using var lease = mirrors.Follow(User, key);
        var reader = ReadToEndAsync(lease.Stream);
        await UntilAsync(() => lease.Stream.LastSequence == 3, Soon, () => "the mirror did not read the log");

        log.Unavailable = true;
        var events = await reader.WaitAsync(Soon, Ct);

        var context = Describe(events);
        Assert.True(events.Skip(3).ToList() is
            [
                { Sequence: 4, Kind: ReplyUpdateKind.Restarted },
                { Sequence: 5, Kind: ReplyUpdateKind.Delta, Text: "Bonjour" },
                { Sequence: 6, Kind: ReplyUpdateKind.Completed },
            ], context);
        Assert.False(string.IsNullOrWhiteSpace(events[3].Text), "the Restarted event gives no reason");
        Assert.Equal(settled, events[^1].Turn);
        Assert.Equal(1, ledger.Reads);
    }

    [Fact]
    public async Task LogUnavailable_ReplyCancelledInStorage_EndsWithTheMissingTextAndFailedCancelled()
    {
        var key = NewKey();
        var cancelled = Turn(key, ReplyState.Cancelled, "Hello wo", failureReason: "cancelled by the user");
        var (log, ledger) = (new FakeReplyLog(), new FakeReplyLedger { Reply = cancelled });
        log.Inject(key, attempt: 1, Accepted(1), Started(2), Delta(3, "Hello "));
        var mirrors = Mirrors(log, ledger, Degraded());
        using var lease = mirrors.Follow(User, key);
        var reader = ReadToEndAsync(lease.Stream);
        await UntilAsync(() => lease.Stream.LastSequence == 3, Soon, () => "the mirror did not read the log");

        log.Unavailable = true;
        var events = await reader.WaitAsync(Soon, Ct);

        Assert.Equal(
            [Delta(4, "wo"), new ReplyUpdate(5, ReplyUpdateKind.Failed, cancelled, FailureCode: ReplyFailureCode.Cancelled, FailureReason: "cancelled by the user")],
            events.Skip(3));
    }

    [Fact]
    public async Task LogAnsweringAgain_TheMirrorFollowsItAndReadsNoMoreStorage()
    {
        var key = NewKey();
        var (log, ledger) = (new FakeReplyLog { Unavailable = true }, new FakeReplyLedger { Reply = Turn(key, ReplyState.Streaming, "") });
        log.Inject(key, attempt: 1, Accepted(1), Started(2), Delta(3, "a"));
        var mirrors = Mirrors(log, ledger, Degraded());
        var leases = Enumerable.Range(0, 3).Select(_ => mirrors.Follow(User, key)).ToList();
        try
        {
            var stream = leases[0].Stream;
            var readers = leases.Select(lease => ReadToEndAsync(lease.Stream)).ToList();
            await UntilAsync(() => ledger.Reads >= 3, Soon, () => $"{ledger.Reads} storage reads while the log was unreachable");
            Assert.Equal(0, stream.LastSequence);

            log.Unavailable = false;
            await UntilAsync(() => stream.LastSequence == 3, Soon, () => "the mirror did not go back to the log");
            var readsWhenBack = ledger.Reads;
            Assert.Equal(1, log.Subscriptions);
            for (var i = 4; i <= 8; i++)
            {
                await Task.Delay(100, Ct);
                await log.AppendAsync(key, 1, [Delta(i, "b")]);
            }

            await log.AppendAsync(key, 1, [Completed(9, Turn(key, ReplyState.Complete, "abbbbb"))]);
            var seen = await Task.WhenAll(readers).WaitAsync(Soon, Ct);

            Assert.All(seen, events => Assert.Equal(log.Events(key), events));
            Assert.Equal(readsWhenBack, ledger.Reads);
        }
        finally
        {
            leases.ForEach(lease => lease.Dispose());
        }
    }

    [Fact]
    public async Task LogMissing_ReplySettled_ReplaysAcceptedStartedOneDeltaAndTheFinalEvent()
    {
        var key = NewKey();
        var settled = Turn(key, ReplyState.Complete, "The whole text");
        var (log, ledger) = (new FakeReplyLog(), new FakeReplyLedger { Reply = settled });
        var mirrors = Mirrors(log, ledger, Degraded());
        using var lease = mirrors.Follow(User, key);

        var events = await ReadToEndAsync(lease.Stream).WaitAsync(Soon, Ct);

        Assert.Equal(
            [
                Accepted(1, settled with { State = ReplyState.Pending, Text = "" }),
                Started(2),
                Delta(3, "The whole text"),
                Completed(4, settled),
            ],
            events);
        Assert.Equal(1, ledger.Reads);
    }

    [Fact]
    public async Task LogMissing_ReplyStillOwed_ReadsStorageUntilTheLogAppearsThenFollowsIt()
    {
        var key = NewKey();
        var (log, ledger) = (new FakeReplyLog(), new FakeReplyLedger { Reply = Turn(key, ReplyState.Pending, "") });
        var mirrors = Mirrors(log, ledger, Degraded(pollInterval: Long));
        using var lease = mirrors.Follow(User, key);
        var reader = ReadToEndAsync(lease.Stream);
        await UntilAsync(() => ledger.Reads >= 2, Soon, () => $"{ledger.Reads} storage reads while the log was missing");

        // The owner's first append wakes the mirror.
        await log.AppendAsync(key, 1, [Accepted(1), Started(2)]);
        await UntilAsync(() => lease.Stream.LastSequence == 2, Soon, () => "the mirror did not read the log once it was written");
        var readsWhenWritten = ledger.Reads;
        await log.AppendAsync(key, 1, [Delta(3, "Hi")]);
        await Task.Delay(600, Ct);
        await log.AppendAsync(key, 1, [Completed(4, Turn(key, ReplyState.Complete, "Hi"))]);
        var events = await reader.WaitAsync(Soon, Ct);

        Assert.Equal(log.Events(key), events);
        Assert.Equal(readsWhenWritten, ledger.Reads);
    }

    [Fact]
    public async Task LogSilentForFollowStallCheck_StorageIsReadOnce_AndASettledReplyEndsTheFollowers()
    {
        var stall = TimeSpan.FromMilliseconds(300);
        var key = NewKey();
        var (log, ledger) = (new FakeReplyLog(), new FakeReplyLedger { Reply = Turn(key, ReplyState.Streaming, "") });
        log.Inject(key, attempt: 1, Accepted(1), Started(2), Delta(3, "Hel"));
        var mirrors = Mirrors(log, ledger, Degraded(stallCheck: stall));
        var followed = Stopwatch.GetTimestamp();
        using var lease = mirrors.Follow(User, key);
        var reader = ReadToEndAsync(lease.Stream);

        await UntilAsync(() => ledger.Reads == 1, Soon, () => "storage was not read though the log stayed silent");
        var first = ledger.ReadTimes[0];
        Assert.True(Stopwatch.GetElapsedTime(followed, first) > stall,
            $"storage was read {Stopwatch.GetElapsedTime(followed, first).TotalMilliseconds:0} ms after following, before the log was silent for {stall.TotalMilliseconds:0} ms");
        await Task.Delay(stall * 2 / 3, Ct);
        Assert.Equal(1, ledger.Reads);

        // Settled by a replica that could not write the log: the next check finds it.
        var settled = Turn(key, ReplyState.Complete, "Hello");
        ledger.Reply = settled;
        var events = await reader.WaitAsync(Soon, Ct);

        Assert.Equal([Delta(4, "lo"), Completed(5, settled)], events.Skip(3));
        Assert.Equal(2, ledger.Reads);
        Assert.True(Stopwatch.GetElapsedTime(first, ledger.ReadTimes[1]) > stall, "the second stall check came before the log had been silent again for the interval");
    }

    private static ReplyMirrors Mirrors(FakeReplyLog log, FakeReplyLedger ledger, DispatchOptions options) =>
        new(log, ledger, Options.Create(options), TimeProvider.System, NullLogger<ReplyMirrors>.Instance);

    /// <summary>Reads came one interval apart, from StoragePollInterval doubling up to FollowStorageMaxInterval: never sooner, at most <paramref name="late"/> later (default 400 ms, for a busy machine).</summary>
    private static void AssertBackedOff(IReadOnlyList<long> reads, DispatchOptions options, TimeSpan? late = null)
    {
        var early = TimeSpan.FromMilliseconds(15);
        var tolerance = late ?? TimeSpan.FromMilliseconds(400);
        var gaps = reads.Zip(reads.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a, b)).ToList();
        var expected = new List<TimeSpan>();
        var interval = options.StoragePollInterval;
        foreach (var _ in gaps)
        {
            expected.Add(interval);
            interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, options.FollowStorageMaxInterval.Ticks));
        }

        var summary = "storage read gaps (ms): " + string.Join(", ", gaps.Select(g => g.TotalMilliseconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture))) +
            "; expected: " + string.Join(", ", expected.Select(g => g.TotalMilliseconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture)));
        TestContext.Current.TestOutputHelper?.WriteLine(summary);
        for (var i = 0; i < gaps.Count; i++)
        {
            Assert.True(gaps[i] >= expected[i] - early && gaps[i] <= expected[i] + tolerance, summary);
        }
    }
}
