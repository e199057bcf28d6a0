using System.Diagnostics;
using ChatService.Chats;
using ChatService.Dispatch;
using Microsoft.Extensions.Logging.Abstractions;
using static ChatService.Tests.Dispatch.ReplyEvents;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// <see cref="ReplyLogWriter"/> copying a reply's stream to a <see cref="FakeReplyLog"/>: batches,
/// what makes a batch go out, how it answers a log that does not end where it left it, a later
/// attempt, an unreachable log, and how long closing waits. Real time (the writer gathers batches
/// with timers); every wait is bounded.
/// </summary>
public sealed class ReplyLogWriterTests
{
    /// <summary>How long anything that should happen "at once" may take on a busy machine.</summary>
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Start_TokensPublishedQuickly_AreCoalescedIntoFewAppendsAndEachIsWrittenOnceInOrder()
    {
        var interval = TimeSpan.FromMilliseconds(25);
        var (log, stream, writer) = Writer(new DispatchOptions { LogFlushInterval = interval });
        var clock = Stopwatch.StartNew();
        stream.Publish(ReplyUpdateKind.Accepted);
        writer.Start(alreadyLogged: 0);
        stream.Publish(ReplyUpdateKind.Started, characterId: "char-1");

        for (var i = 0; i < 200; i++)
        {
            stream.Publish(ReplyUpdateKind.Delta, text: $"t{i} ");
            if (i % 10 == 9)
            {
                await Task.Delay(10, Ct);
            }
        }

        stream.Publish(ReplyUpdateKind.Completed, turn: Turn(stream.Key, ReplyState.Complete, "done"));
        await writer.CompleteAsync(Soon);
        var elapsed = clock.Elapsed;

        var appends = log.Appends;
        Assert.All(appends, a => Assert.Equal(ReplyLogAppendStatus.Appended, a.Status));
        Assert.Equal(stream.Snapshot(0), appends.SelectMany(a => a.Events));
        Assert.Equal(stream.Snapshot(0), log.Events(stream.Key));
        // At most one append per interval, plus the first (at once, after a quiet interval) and the final one.
        var most = (int)(elapsed / interval) + 3;
        TestContext.Current.TestOutputHelper?.WriteLine($"{stream.LastSequence} events in {appends.Count} appends over {elapsed.TotalMilliseconds:0} ms");
        Assert.InRange(appends.Count, 2, (int)Math.Min(most, stream.LastSequence / 5));
    }

    [Fact]
    public async Task Start_TextReachingLogFlushCharacters_IsAppendedBeforeTheInterval()
    {
        var (log, stream, writer) = Writer(new DispatchOptions { LogFlushInterval = Long, LogFlushCharacters = 100 });
        stream.Publish(ReplyUpdateKind.Accepted);
        writer.Start(alreadyLogged: 0);
        // The first event goes at once (nothing was appended within the interval before it).
        await UntilAsync(() => log.Appends.Count == 1, Soon, () => "the first event was not appended at once");

        stream.Publish(ReplyUpdateKind.Delta, text: new string('a', 60));
        await Task.Delay(200, Ct);
        Assert.Equal(1, log.AppendCalls);

        var clock = Stopwatch.StartNew();
        stream.Publish(ReplyUpdateKind.Delta, text: new string('b', 60));
        await UntilAsync(() => log.Appends.Count == 2, Soon, () => "the batch was not appended once it held 120 characters");
        var latency = clock.Elapsed;

        Assert.Equal([2L, 3L], log.Appends[1].Events.Select(e => e.Sequence));
        Assert.True(latency < TimeSpan.FromSeconds(1), $"appended {latency.TotalMilliseconds:0} ms after the text reached the threshold");
        stream.Publish(ReplyUpdateKind.Completed, turn: Turn(stream.Key, ReplyState.Complete, "done"));
        await writer.CompleteAsync(Soon);
        Assert.Equal(stream.Snapshot(0), log.Events(stream.Key));
    }

    [Fact]
    public async Task Start_FinalEvent_IsAppendedPromptlyWithWhatWasWaiting()
    {
        var (log, stream, writer) = Writer(new DispatchOptions { LogFlushInterval = Long });
        stream.Publish(ReplyUpdateKind.Accepted);
        writer.Start(alreadyLogged: 0);
        await UntilAsync(() => log.Appends.Count == 1, Soon, () => "the first event was not appended at once");
        stream.Publish(ReplyUpdateKind.Started, characterId: "char-1");
        stream.Publish(ReplyUpdateKind.Delta, text: "Hello");
        await Task.Delay(100, Ct);
        Assert.Equal(1, log.AppendCalls);

        var published = Stopwatch.GetTimestamp();
        stream.Publish(ReplyUpdateKind.Completed, turn: Turn(stream.Key, ReplyState.Complete, "Hello"));
        await UntilAsync(() => log.Appends.Count == 2, Soon, () => "the final event was not appended");

        var latency = Stopwatch.GetElapsedTime(published, log.Appends[1].At);
        TestContext.Current.TestOutputHelper?.WriteLine($"final event appended {latency.TotalMilliseconds:0.0} ms after it was published");
        Assert.True(latency < TimeSpan.FromMilliseconds(200), $"the final event was appended {latency.TotalMilliseconds:0} ms after it was published");
        Assert.Equal(stream.Snapshot(0), log.Appends.SelectMany(a => a.Events));
        await writer.CompleteAsync(Soon);
    }

    [Fact]
    public async Task OutOfOrder_LogHoldingLessThanWritten_ResendsFromTheLogsEnd()
    {
        var (log, stream, writer) = Writer(new DispatchOptions { LogFlushInterval = TimeSpan.FromMilliseconds(10) });
        stream.Publish(ReplyUpdateKind.Accepted);
        writer.Start(alreadyLogged: 0);
        stream.Publish(ReplyUpdateKind.Started, characterId: "char-1");
        stream.Publish(ReplyUpdateKind.Delta, text: "a");
        stream.Publish(ReplyUpdateKind.Delta, text: "b");
        stream.Publish(ReplyUpdateKind.Delta, text: "c");
        await UntilAsync(() => log.Events(stream.Key).Count == 5, Soon, () => "the first events were not appended");

        // A failover lost the last two appends' worth.
        log.Truncate(stream.Key, lastKept: 3);
        stream.Publish(ReplyUpdateKind.Delta, text: "d");
        stream.Publish(ReplyUpdateKind.Completed, turn: Turn(stream.Key, ReplyState.Complete, "abcd"));
        await writer.CompleteAsync(Soon);

        Assert.Contains(log.Appends, a => a.Status == ReplyLogAppendStatus.OutOfOrder && a.Events[0].Sequence == 6);
        Assert.Equal(stream.Snapshot(0), log.Events(stream.Key));
        Assert.False(writer.Fenced);
    }

    [Fact]
    public async Task OutOfOrder_LogHoldingAnotherAttemptsEvents_RejoinsWithRestartedAndTheTextSoFar()
    {
        var (log, stream, writer) = Writer(new DispatchOptions { LogFlushInterval = TimeSpan.FromMilliseconds(10) }, attempt: 2);
        stream.Publish(ReplyUpdateKind.Accepted);
        writer.Start(alreadyLogged: 0);
        stream.Publish(ReplyUpdateKind.Started, characterId: "char-1");
        stream.Publish(ReplyUpdateKind.Delta, text: "Hel");
        stream.Publish(ReplyUpdateKind.Delta, text: "lo");
        await UntilAsync(() => log.Events(stream.Key).Count == 4, Soon, () => "the first events were not appended");

        // Events this writer never wrote: an earlier attempt's, after the writer's last.
        log.Inject(stream.Key, attempt: 1, Delta(5, "x"), Delta(6, "y"), Delta(7, "z"));
        stream.Publish(ReplyUpdateKind.Delta, text: " world");
        var turn = Turn(stream.Key, ReplyState.Complete, "Hello world");
        stream.Publish(ReplyUpdateKind.Completed, turn: turn);
        await writer.CompleteAsync(Soon);

        var events = log.Events(stream.Key);
        var context = Describe(events);
        Assert.True(events.Select(e => e.Sequence).SequenceEqual(Enumerable.Range(1, events.Count).Select(i => (long)i)), context);
        var bridge = events.Skip(7).ToList();
        Assert.True(bridge is
            [
                { Sequence: 8, Kind: ReplyUpdateKind.Restarted, Attempt: 2 },
                { Sequence: 9, Kind: ReplyUpdateKind.Delta, Text: "Hello" },
                { Sequence: 10, Kind: ReplyUpdateKind.Delta, Text: " world" },
                { Sequence: 11, Kind: ReplyUpdateKind.Completed },
            ], context);
        Assert.False(string.IsNullOrWhiteSpace(bridge[0].Text), "the Restarted event gives no reason");
        Assert.Equal(turn, bridge[3].Turn);
        Assert.Equal("Hello world", Text(events));
        Assert.False(writer.Fenced);
    }

    [Fact]
    public async Task OutOfOrder_AttemptStartedWhileTheLogWasUnreachable_RejoinsItAndTheLogEndsWithItsText()
    {
        var key = NewKey();
        var log = new FakeReplyLog();
        // The first attempt's events; the second could not read them when it started.
        log.Inject(key, attempt: 1, Accepted(1), Started(2), Delta(3, "old "), Delta(4, "text"));
        log.Unavailable = true;
        var (_, stream, writer) = Writer(new DispatchOptions { LogFlushInterval = TimeSpan.FromMilliseconds(10) }, attempt: 2, log, key);
        stream.Publish(ReplyUpdateKind.Accepted);
        stream.Publish(ReplyUpdateKind.Restarted, text: "generating it again", attempt: 2);
        writer.Start(alreadyLogged: 0);
        stream.Publish(ReplyUpdateKind.Started, characterId: "char-1");
        stream.Publish(ReplyUpdateKind.Delta, text: "new ");
        await UntilAsync(() => log.AppendCalls >= 1, Soon, () => "the writer did not try the log");

        log.Unavailable = false;
        stream.Publish(ReplyUpdateKind.Delta, text: "text");
        stream.Publish(ReplyUpdateKind.Completed, turn: Turn(key, ReplyState.Complete, "new text"));
        await writer.CompleteAsync(Soon);

        var events = log.Events(key);
        var context = Describe(events);
        Assert.True(events.Select(e => e.Sequence).SequenceEqual(Enumerable.Range(1, events.Count).Select(i => (long)i)), context);
        Assert.True(events[4] is { Kind: ReplyUpdateKind.Restarted, Attempt: 2 }, context);
        Assert.True(events[^1].Kind == ReplyUpdateKind.Completed, context);
        Assert.True(Text(events) == "new text", context);
    }

    [Fact]
    public async Task Fenced_ByALaterAttempt_StopsWriting()
    {
        var key = NewKey();
        var log = new FakeReplyLog();
        log.Inject(key, attempt: 3, Accepted(1), Restarted(2, attempt: 3));
        var (_, stream, writer) = Writer(new DispatchOptions { LogFlushInterval = TimeSpan.FromMilliseconds(10) }, attempt: 2, log, key);
        stream.Append(log.Events(key).Take(1));
        writer.Start(alreadyLogged: 1);
        stream.Publish(ReplyUpdateKind.Restarted, text: "generating it again", attempt: 2);
        stream.Publish(ReplyUpdateKind.Started, characterId: "char-1");
        await UntilAsync(() => writer.Fenced, Soon, () => "the writer was not fenced");

        stream.Publish(ReplyUpdateKind.Delta, text: "more");
        await Task.Delay(100, Ct);
        var clock = Stopwatch.StartNew();
        await writer.CompleteAsync(Soon);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"CompleteAsync took {clock.Elapsed.TotalMilliseconds:0} ms after the writer stopped");
        Assert.Equal(1, log.AppendCalls);
        Assert.Equal(ReplyLogAppendStatus.Fenced, log.Appends[0].Status);
        Assert.Equal(2, log.Events(key).Count);
    }

    [Fact]
    public async Task Ended_LogWithAFinalEvent_StopsWriting()
    {
        var key = NewKey();
        var log = new FakeReplyLog();
        var (_, stream, writer) = Writer(new DispatchOptions { LogFlushInterval = TimeSpan.FromMilliseconds(10) }, attempt: 1, log, key);
        stream.Publish(ReplyUpdateKind.Accepted);
        writer.Start(alreadyLogged: 0);
        await UntilAsync(() => log.Events(key).Count == 1, Soon, () => "Accepted was not appended");
        // Settled without its owner (e.g. a cancel while it was thought gone).
        await log.EndAsync(key, new ReplyUpdate(0, ReplyUpdateKind.Failed, FailureCode: ReplyFailureCode.Cancelled));

        stream.Publish(ReplyUpdateKind.Started, characterId: "char-1");
        await UntilAsync(() => log.Appends.Count == 2, Soon, () => "the writer did not try to append after the end");
        stream.Publish(ReplyUpdateKind.Delta, text: "more");
        await Task.Delay(100, Ct);
        await writer.CompleteAsync(Soon);

        Assert.Equal(ReplyLogAppendStatus.Ended, log.Appends[1].Status);
        Assert.Equal(2, log.AppendCalls);
        Assert.False(writer.Fenced);
    }

    [Fact]
    public async Task Unavailable_IsRetried_AndTheEventsArriveOnceTheLogRecovers()
    {
        var log = new FakeReplyLog { Unavailable = true };
        var (_, stream, writer) = Writer(new DispatchOptions { LogFlushInterval = TimeSpan.FromMilliseconds(10) }, attempt: 1, log);
        stream.Publish(ReplyUpdateKind.Accepted);
        writer.Start(alreadyLogged: 0);
        stream.Publish(ReplyUpdateKind.Started, characterId: "char-1");
        for (var i = 0; i < 5; i++)
        {
            stream.Publish(ReplyUpdateKind.Delta, text: $"t{i} ");
            await Task.Delay(40, Ct);
        }

        await UntilAsync(() => log.AppendCalls >= 2, Soon, () => "the writer did not retry");
        Assert.Empty(log.Events(stream.Key));

        log.Unavailable = false;
        stream.Publish(ReplyUpdateKind.Completed, turn: Turn(stream.Key, ReplyState.Complete, "t0 t1 t2 t3 t4 "));
        await UntilAsync(() => log.Events(stream.Key) is [.., { IsFinal: true }], Soon, () => "the events did not reach the log once it recovered");
        await writer.CompleteAsync(Soon);

        Assert.Equal(stream.Snapshot(0), log.Events(stream.Key));
    }

    [Fact]
    public async Task CompleteAsync_LogTimingOutOnEveryCall_ReturnsWithinItsBoundAndOneCall()
    {
        // What the Redis log does when Redis does not answer: each call fails after its timeout.
        var callTimeout = TimeSpan.FromMilliseconds(250);
        var log = new FakeReplyLog { Unavailable = true, CallDelay = callTimeout };
        var (_, stream, writer) = Writer(new DispatchOptions(), attempt: 1, log);
        stream.Publish(ReplyUpdateKind.Accepted);
        writer.Start(alreadyLogged: 0);
        stream.Publish(ReplyUpdateKind.Completed, turn: Turn(stream.Key, ReplyState.Complete, ""));
        await UntilAsync(() => log.AppendCalls >= 1, Soon, () => "the writer did not try the log");

        var bound = TimeSpan.FromMilliseconds(300);
        var clock = Stopwatch.StartNew();
        await writer.CompleteAsync(bound).WaitAsync(Soon, Ct);

        Assert.True(clock.Elapsed < bound + callTimeout + TimeSpan.FromMilliseconds(250),
            $"CompleteAsync({bound.TotalMilliseconds:0} ms) took {clock.Elapsed.TotalMilliseconds:0} ms");
    }

    // The bound holds even against a log whose call never completes: the writer's appends are raced
    // with its stop (a drain must never hold a handover's lease release up).
    [Fact]
    public async Task CompleteAsync_LogThatNeverAnswers_ReturnsWithinItsBound()
    {
        var log = new FakeReplyLog { NeverAnswers = true };
        var (_, stream, writer) = Writer(new DispatchOptions(), attempt: 1, log);
        stream.Publish(ReplyUpdateKind.Accepted);
        writer.Start(alreadyLogged: 0);
        stream.Publish(ReplyUpdateKind.Completed, turn: Turn(stream.Key, ReplyState.Complete, ""));
        await UntilAsync(() => log.AppendCalls >= 1, Soon, () => "the writer did not try the log");

        var bound = TimeSpan.FromMilliseconds(300);
        var clock = Stopwatch.StartNew();
        var completed = writer.CompleteAsync(bound);
        var returned = await Task.WhenAny(completed, Task.Delay(bound + TimeSpan.FromSeconds(2), Ct)) == completed;

        Assert.True(returned, $"CompleteAsync({bound.TotalMilliseconds:0} ms) had not returned after {clock.Elapsed.TotalMilliseconds:0} ms");
    }

    private static (FakeReplyLog Log, ReplyStream Stream, ReplyLogWriter Writer) Writer(
        DispatchOptions options, int attempt = 1, FakeReplyLog? log = null, ReplyKey? key = null)
    {
        log ??= new FakeReplyLog();
        var stream = new ReplyStream(key ?? NewKey());
        return (log, stream, new ReplyLogWriter(log, stream, attempt, options, TimeProvider.System, NullLogger.Instance));
    }
}
