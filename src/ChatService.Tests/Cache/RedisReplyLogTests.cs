using System.Diagnostics;
using ChatService.Cache;
using ChatService.Chats;
using ChatService.Dispatch;
using ChatService.Testing;
using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using static ChatService.Tests.Dispatch.ReplyEvents;

namespace ChatService.Tests.Cache;

/// <summary>One connection to the local Redis Cluster for <see cref="RedisReplyLogTests"/>.</summary>
public sealed class RedisConnectionFixture(LocalStack stack) : IAsyncLifetime
{
    public IConnectionMultiplexer Redis { get; private set; } = null!;

    public LocalStack Stack => stack;

    /// <summary>Admin mode for CLUSTER KEYSLOT.</summary>
    public async ValueTask InitializeAsync() => Redis = await ConnectionMultiplexer.ConnectAsync(stack.RedisConfiguration + ",allowAdmin=true");

    public async ValueTask DisposeAsync() => await Redis.DisposeAsync();
}

/// <summary>
/// <see cref="RedisReplyLog"/> against the real Redis Cluster: what an append writes and refuses,
/// what a read returns from any point, ending a log without its owner, expiry, trimming, the
/// wake-up channel, and where its keys live. Each test uses a reply of a chat of its own.
/// </summary>
public sealed class RedisReplyLogTests(RedisConnectionFixture fixture) : IClassFixture<RedisConnectionFixture>
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);

    private IDatabase Db => fixture.Redis.GetDatabase();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ReadAsync_AppendsInOrder_AreReadBackExactlyFromAnySequence()
    {
        var log = Log();
        var key = NewKey();
        var final = Turn(key, ReplyState.Failed, "Hello there, wor", failureReason: "the backend stopped");
        ReplyUpdate[][] batches =
        [
            [Accepted(1, Turn(key, ReplyState.Pending, "")), Started(2), Delta(3, "Hello")],
            [Delta(4, " there"), Delta(5, ""), Delta(6, ", wor")],
            [Restarted(7, attempt: 2)],
            [Delta(8, "Hello there, wor")],
            [new ReplyUpdate(9, ReplyUpdateKind.Failed, final, FailureCode: ReplyFailureCode.Interrupted, FailureReason: "the backend stopped", Attempt: 2)],
        ];
        int[] attempts = [1, 1, 2, 2, 2];

        for (var i = 0; i < batches.Length; i++)
        {
            var result = await log.AppendAsync(key, attempts[i], batches[i]);
            Assert.Equal(new ReplyLogAppend(ReplyLogAppendStatus.Appended, batches[i][^1].Sequence, attempts[i]), result);
        }

        var all = batches.SelectMany(b => b).ToList();
        foreach (var after in new long[] { 0, 1, 2, 3, 4, 5, 8, 9, 10, 1000 })
        {
            var read = await log.ReadAsync(key, after);
            Assert.False(read.Missing);
            Assert.Equal(all.Where(e => e.Sequence > after), read.Events);
        }

        Assert.Equal(batches.Length, await Db.StreamLengthAsync(LogKey(key)));
    }

    [Fact]
    public async Task AppendAsync_BatchThatRepeatsOrSkipsASequence_IsOutOfOrderAndWritesNothing()
    {
        var log = Log();
        var key = NewKey();
        Assert.Equal(new ReplyLogAppend(ReplyLogAppendStatus.OutOfOrder, 0, 0), await log.AppendAsync(key, 1, [Delta(2, "a")]));
        Assert.False(await Db.KeyExistsAsync(LogKey(key)), "a refused first append created the log");
        await log.AppendAsync(key, 1, [Accepted(1), Started(2), Delta(3, "a")]);

        var repeat = await log.AppendAsync(key, 1, [Delta(3, "a"), Delta(4, "b")]);
        var skip = await log.AppendAsync(key, 1, [Delta(5, "c")]);
        var older = await log.AppendAsync(key, 1, [Delta(1, "z")]);

        Assert.All([repeat, skip, older], r => Assert.Equal(new ReplyLogAppend(ReplyLogAppendStatus.OutOfOrder, 3, 1), r));
        Assert.Equal([Accepted(1), Started(2), Delta(3, "a")], (await log.ReadAsync(key, 0)).Events);
        Assert.Equal(1, await Db.StreamLengthAsync(LogKey(key)));
        Assert.Equal(ReplyLogAppendStatus.Appended, (await log.AppendAsync(key, 1, [Delta(4, "b")])).Status);
    }

    [Fact]
    public async Task AppendAsync_ARestartMayJumpToItsAttemptsRange_NothingElseMay()
    {
        var log = Log();
        var key = NewKey();
        await log.AppendAsync(key, 1, [Accepted(1), Started(2), Delta(3, "a")]);
        var start = ReplyUpdate.AttemptStart(2);

        var skip = await log.AppendAsync(key, 2, [Delta(start, "b")]);
        var restart = await log.AppendAsync(key, 2, [Restarted(start, attempt: 2), Delta(start + 1, "b")]);
        var backwards = await log.AppendAsync(key, 3, [Restarted(start, attempt: 3)]);

        Assert.Equal(new ReplyLogAppend(ReplyLogAppendStatus.OutOfOrder, 3, 1), skip);
        Assert.Equal(new ReplyLogAppend(ReplyLogAppendStatus.Appended, start + 1, 2), restart);
        Assert.Equal(new ReplyLogAppend(ReplyLogAppendStatus.OutOfOrder, start + 1, 2), backwards);
        Assert.Equal([3L, start, start + 1], (await log.ReadAsync(key, 2)).Events.Select(e => e.Sequence));
        Assert.Equal([start + 1], (await log.ReadAsync(key, start)).Events.Select(e => e.Sequence));
    }

    [Fact]
    public async Task AppendAsync_OlderAttemptAfterANewerOne_IsFenced()
    {
        var log = Log();
        var key = NewKey();
        await log.AppendAsync(key, 1, [Accepted(1), Started(2), Delta(3, "a")]);
        Assert.Equal(ReplyLogAppendStatus.Appended, (await log.AppendAsync(key, 2, [Restarted(4, attempt: 2)])).Status);

        var fenced = await log.AppendAsync(key, 1, [Delta(5, "b")]);
        var outOfOrderAndOld = await log.AppendAsync(key, 1, [Delta(9, "b")]);

        Assert.Equal(new ReplyLogAppend(ReplyLogAppendStatus.Fenced, 4, 2), fenced);
        Assert.Equal(ReplyLogAppendStatus.Fenced, outOfOrderAndOld.Status);
        Assert.Equal(4, (await log.ReadAsync(key, 0)).Events.Count);
        Assert.Equal(new ReplyLogAppend(ReplyLogAppendStatus.Appended, 5, 2), await log.AppendAsync(key, 2, [Delta(5, "c")]));
    }

    [Fact]
    public async Task AppendAsync_AfterAFinalEvent_IsEnded()
    {
        var log = Log();
        var key = NewKey();
        var turn = Turn(key, ReplyState.Complete, "a");
        await log.AppendAsync(key, 1, [Accepted(1), Started(2), Delta(3, "a"), Completed(4, turn)]);

        var same = await log.AppendAsync(key, 1, [Delta(5, "b")]);
        var newer = await log.AppendAsync(key, 3, [Restarted(5, attempt: 3)]);
        var older = await log.AppendAsync(key, 0, [Delta(2, "b")]);

        Assert.All([same, newer, older], r => Assert.Equal(new ReplyLogAppend(ReplyLogAppendStatus.Ended, 4, 1), r));
        Assert.Equal(Completed(4, turn), (await log.ReadAsync(key, 0)).Events[^1]);
        Assert.Equal(1, await Db.StreamLengthAsync(LogKey(key)));
    }

    [Fact]
    public async Task EndAsync_AppendsARestartAndTheFinalEventAfterWhateverTheLogHolds()
    {
        var log = Log();
        var key = NewKey();
        await log.AppendAsync(key, 1, [Accepted(1), Started(2)]);
        await log.AppendAsync(key, 2, [Restarted(3, attempt: 2), Delta(4, "partial")]);
        var cancelled = Turn(key, ReplyState.Cancelled, "partial", failureReason: "cancelled by the user");

        await log.EndAsync(key, ReplyUpdate.FinalOf(cancelled, sequence: 0));

        // A Restarted past attempt 3's range start (the stored text need not continue what the log
        // shows, and the dead replica's callers may have seen more), the stored text, the final event.
        var read = await log.ReadAsync(key, 4);
        var start = ReplyUpdate.AttemptStart(3);
        Assert.Equal(
            [(start + 1, ReplyUpdateKind.Restarted), (start + 2, ReplyUpdateKind.Delta), (start + 3, ReplyUpdateKind.Failed)],
            read.Events.Select(e => (e.Sequence, e.Kind)));
        Assert.Equal("partial", read.Events[1].Text);
        Assert.Equal(new ReplyUpdate(start + 3, ReplyUpdateKind.Failed, cancelled, FailureCode: ReplyFailureCode.Cancelled, FailureReason: "cancelled by the user"), read.Events[2]);
        Assert.Equal(7, (await log.ReadAsync(key, 0)).Events.Count);
        // Ended as its last attempt wrote it: that attempt, or an older one, is refused as ended.
        Assert.Equal(new ReplyLogAppend(ReplyLogAppendStatus.Ended, start + 3, 2), await log.AppendAsync(key, 2, [Delta(start + 4, "more")]));
    }

    [Fact]
    public async Task EndAsync_OnAMissingOrEndedLog_DoesNothing()
    {
        var log = Log();
        var missing = NewKey();
        var ended = NewKey();
        var completed = Turn(ended, ReplyState.Complete, "done");
        await log.AppendAsync(ended, 1, [Accepted(1), Delta(2, "done"), Completed(3, completed)]);

        await log.EndAsync(missing, ReplyUpdate.FinalOf(Turn(missing, ReplyState.Cancelled, ""), sequence: 0));
        await log.EndAsync(ended, ReplyUpdate.FinalOf(Turn(ended, ReplyState.Cancelled, ""), sequence: 0));

        Assert.False(await Db.KeyExistsAsync(LogKey(missing)), "EndAsync created a log that did not exist");
        Assert.True((await log.ReadAsync(missing, 0)).Missing);
        Assert.Equal(Completed(3, completed), Assert.Single((await log.ReadAsync(ended, 2)).Events));
        Assert.Equal(1, await Db.StreamLengthAsync(LogKey(ended)));
    }

    [Fact]
    public async Task ReadAsync_LogNeverWritten_IsMissing()
    {
        var read = await Log().ReadAsync(NewKey(), 0);

        Assert.True(read.Missing);
        Assert.Empty(read.Events);
    }

    [Fact]
    public async Task AppendAsync_RenewsTheExpiry_AndTheLogIsGoneLogRetentionAfterTheLastAppend()
    {
        var retention = TimeSpan.FromSeconds(1);
        var log = Log(new DispatchOptions { LogRetention = retention });
        var key = NewKey();
        await log.AppendAsync(key, 1, [Accepted(1)]);
        var first = await Db.KeyTimeToLiveAsync(LogKey(key));
        await Task.Delay(600, Ct);
        await log.AppendAsync(key, 1, [Started(2)]);
        var renewed = await Db.KeyTimeToLiveAsync(LogKey(key));

        Assert.NotNull(first);
        Assert.InRange(first.Value, TimeSpan.FromMilliseconds(500), retention);
        Assert.NotNull(renewed);
        Assert.InRange(renewed.Value, TimeSpan.FromMilliseconds(500), retention);

        await Task.Delay(retention + TimeSpan.FromMilliseconds(300), Ct);
        Assert.False(await Db.KeyExistsAsync(LogKey(key)), "the log outlived its retention");
        Assert.True((await log.ReadAsync(key, 0)).Missing);
    }

    [Fact]
    public async Task AppendAsync_ManyAppends_TrimTheLogNearLogMaxEntries()
    {
        const int MaxEntries = 100;
        const int Appends = 1000;
        var log = Log(new DispatchOptions { LogMaxEntries = MaxEntries });
        var key = NewKey();

        for (var sequence = 1; sequence <= Appends; sequence++)
        {
            Assert.Equal(ReplyLogAppendStatus.Appended, (await log.AppendAsync(key, 1, [Delta(sequence, "x")])).Status);
        }

        var length = await Db.StreamLengthAsync(LogKey(key));
        Assert.InRange(length, MaxEntries, MaxEntries + 100);
        // The newest appends are all there, and the log goes on.
        Assert.Equal(Enumerable.Range(Appends - 49, 50).Select(s => (long)s), (await log.ReadAsync(key, Appends - 50)).Events.Select(e => e.Sequence));
        Assert.Equal(ReplyLogAppendStatus.Appended, (await log.AppendAsync(key, 1, [Delta(Appends + 1, "y")])).Status);
    }

    [Fact]
    public async Task SubscribeAsync_WakesAfterAnAppend_NotForAnotherReply_AndNotAfterDisposal()
    {
        var log = Log();
        var key = NewKey();
        var other = key with { CandidateId = "cand-2" };
        var wakes = 0;
        var woken = new SemaphoreSlim(0);
        var subscription = await log.SubscribeAsync(key, () =>
        {
            Interlocked.Increment(ref wakes);
            woken.Release();
        });
        Assert.NotNull(subscription);

        await log.AppendAsync(key, 1, [Accepted(1)]);
        Assert.True(await woken.WaitAsync(Soon, Ct), "no wake-up after an append");
        await log.AppendAsync(other, 1, [Accepted(1)]);
        await log.AppendAsync(key, 1, [Started(2)]);
        Assert.True(await woken.WaitAsync(Soon, Ct), "no wake-up after the second append");
        // The other reply's append (made first) would have arrived first.
        await Task.Delay(200, Ct);
        Assert.Equal(2, Volatile.Read(ref wakes));

        await subscription.DisposeAsync();
        await log.AppendAsync(key, 1, [Delta(3, "a")]);
        await Task.Delay(500, Ct);
        Assert.Equal(2, Volatile.Read(ref wakes));
    }

    [Fact]
    public async Task AppendAsync_LogKeyAndWakeChannel_AreTheDocumentedNamesInTheChatsHashSlot()
    {
        var log = Log();
        var key = NewKey();
        var channel = LogKey(key) + ":wake";
        var published = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscriber = fixture.Redis.GetSubscriber();
        await subscriber.SubscribeAsync(RedisChannel.Sharded(channel), (_, message) => published.TrySetResult(message.ToString()));
        try
        {
            await log.AppendAsync(key, 1, [Accepted(1), Started(2)]);

            Assert.True(await Db.KeyExistsAsync(LogKey(key)), $"no log at {LogKey(key)}");
            Assert.Equal("2", await published.Task.WaitAsync(Soon, Ct));
            var chatSlot = fixture.Redis.HashSlot($"chat:{{{key.ChatId}}}:w");
            Assert.Equal(chatSlot, fixture.Redis.HashSlot(LogKey(key)));
            Assert.Equal(chatSlot, fixture.Redis.HashSlot(channel));
            var server = fixture.Redis.GetServer(fixture.Redis.GetEndPoints()[0]);
            foreach (var name in new[] { LogKey(key), channel })
            {
                Assert.Equal(chatSlot, (int)await server.ExecuteAsync("CLUSTER", "KEYSLOT", name));
            }
        }
        finally
        {
            await subscriber.UnsubscribeAsync(RedisChannel.Sharded(channel));
        }
    }

    [Fact]
    public async Task Calls_RedisUnreachable_ThrowReplyLogUnavailableAndSubscribeAnswersNull()
    {
        var options = new RedisOptions { Endpoints = $"127.0.0.1:{FreePort.Next()}" };
        var configuration = options.ToConfiguration();
        // The service's client, without its 2 s wait for the first connection.
        configuration.ConnectTimeout = 100;
        await using var unreachable = await ConnectionMultiplexer.ConnectAsync(configuration);
        var log = new RedisReplyLog(unreachable, Options.Create(options), Options.Create(new DispatchOptions()), Options.Create(new ChatOptions { ReplicaId = "replica-a" }));
        var key = NewKey();

        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<ReplyLogUnavailableException>(() => log.ReadAsync(key, 0));
        var read = clock.Elapsed;
        await Assert.ThrowsAsync<ReplyLogUnavailableException>(() => log.AppendAsync(key, 1, [Accepted(1)]));
        await Assert.ThrowsAsync<ReplyLogUnavailableException>(() => log.EndAsync(key, ReplyUpdate.FinalOf(Turn(key, ReplyState.Cancelled, ""), 0)));
        await Assert.ThrowsAsync<ReplyLogUnavailableException>(() => log.WriterAsync(key));
        clock.Restart();
        var subscription = await log.SubscribeAsync(key, () => { });
        var subscribe = clock.Elapsed;

        TestContext.Current.TestOutputHelper?.WriteLine($"with Redis unreachable: a read fails after {read.TotalMilliseconds:0} ms, subscribing after {subscribe.TotalMilliseconds:0} ms");
        Assert.Null(subscription);
        Assert.True(read < options.OperationTimeout + TimeSpan.FromSeconds(1), $"a read took {read.TotalMilliseconds:0} ms to fail");
        Assert.True(subscribe < options.OperationTimeout * 4 + TimeSpan.FromSeconds(1), $"subscribing took {subscribe.TotalMilliseconds:0} ms to fail");
    }

    /// <summary>The log on the local cluster, with a timeout generous enough for a busy machine.</summary>
    private RedisReplyLog Log(DispatchOptions? options = null) => new(
        fixture.Redis,
        Options.Create(new RedisOptions { Endpoints = fixture.Stack.RedisConfiguration, OperationTimeout = TimeSpan.FromSeconds(2) }),
        Options.Create(options ?? new DispatchOptions()),
        Options.Create(new ChatOptions { ReplicaId = "replica-a" }));

    [Fact]
    public async Task WriterAsync_NamesTheReplicaOfTheLastAppend_UntilTheLogEnds()
    {
        var key = NewKey();
        Assert.Null(await Log().WriterAsync(key));

        await Log().AppendAsync(key, 1, [Accepted(1), Delta(2, "a")]);
        Assert.Equal("replica-a", await Log().WriterAsync(key));

        var other = new RedisReplyLog(fixture.Redis,
            Options.Create(new RedisOptions { Endpoints = fixture.Stack.RedisConfiguration, OperationTimeout = TimeSpan.FromSeconds(2) }),
            Options.Create(new DispatchOptions()), Options.Create(new ChatOptions { ReplicaId = "replica-b" }));
        await other.AppendAsync(key, 2, [Restarted(ReplyUpdate.AttemptStart(2), attempt: 2)]);
        Assert.Equal("replica-b", await Log().WriterAsync(key));

        await other.AppendAsync(key, 2, [Completed(ReplyUpdate.AttemptStart(2) + 1, Turn(key, ReplyState.Complete, "done"))]);
        Assert.Null(await Log().WriterAsync(key));
    }

    /// <summary>Where the log of a reply lives, as documented on <see cref="RedisReplyLog"/>.</summary>
    private static string LogKey(ReplyKey key) => $"chat:{{{key.ChatId}}}:r:{key.Seq}:{key.CandidateId}";
}
