using ChatService.Cache;
using System.Diagnostics;
using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using StackExchange.Redis;

namespace ChatService.Tests.Cache;

/// <summary>Tests that break the shared Redis Cluster run alone, after everything else.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RedisFaultCollection
{
    public const string Name = "redis-faults";
}

/// <summary>
/// The fault tests in the order of their names. Each one leaves the cluster as it found it (every
/// node back, every replica synced) and checks that before it kills anything, so the order must not
/// matter: <see cref="RedisFaultTestsReversed"/> runs them again in the opposite order, so each test
/// runs both before and after each other one, and right after each neighbour in both directions.
/// </summary>
[Collection(RedisFaultCollection.Name)]
[TestCaseOrderer(typeof(MethodNameOrderer))]
public sealed class RedisFaultTestsInOrder(ChatServiceFixture fixture) : RedisFaultTests(fixture), IClassFixture<ChatServiceFixture>;

/// <summary>The fault tests in reverse name order (see <see cref="RedisFaultTestsInOrder"/>).</summary>
[Collection(RedisFaultCollection.Name)]
[TestCaseOrderer(typeof(ReverseMethodNameOrderer))]
public sealed class RedisFaultTestsReversed(ChatServiceFixture fixture) : RedisFaultTests(fixture), IClassFixture<ChatServiceFixture>;

public abstract class RedisFaultTests(ChatServiceFixture fixture) : ApiTestBase(fixture)
{
    [Fact]
    public async Task PrimaryKilledUnderLoad_EveryRpcSucceeds_AndTheHitRateRecovers()
    {
        await Fixture.Stack.AssertEveryPrimaryHasSyncedReplicaAsync();
        var (user, chats) = await WarmChatsAsync(12);
        using var counters = new CacheCounters();
        var port = await SomePrimaryPortAsync();
        var failures = new List<string>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var load = Enumerable.Range(0, 6).Select(worker => LoadAsync(user, chats, worker, failures, stop.Token)).ToList();
        try
        {
            await Task.Delay(500, Ct);
            await Fixture.Stack.KillRedisNodeAsync(port);

            // The replica takes the dead primary's slots after the node timeout; until then reads of
            // those chats come from Spanner. Wait for a second in which (almost) every read hit.
            var recovered = false;
            var clock = Stopwatch.StartNew();
            while (!recovered && clock.Elapsed < TimeSpan.FromSeconds(40))
            {
                var before = counters.Snapshot();
                await Task.Delay(1000, Ct);
                var after = counters.Snapshot();
                var reads = (after.Hits - before.Hits) + (after.Misses - before.Misses) + (after.Fallbacks - before.Fallbacks);
                recovered = reads > 20 && (after.Hits - before.Hits) >= 0.9 * reads;
            }

            await stop.CancelAsync();
            await Task.WhenAll(load);
            Assert.True(failures.Count == 0, $"{failures.Count} RPCs failed: {string.Join("; ", failures.Take(5))}");
            Assert.True(recovered, $"hit rate did not recover within 40 s of killing :{port} (hits {counters.Hits}, fallbacks {counters.Fallbacks})");
        }
        finally
        {
            await stop.CancelAsync();
            await Fixture.Stack.RestartRedisNodeAsync(port);
        }
    }

    [Fact]
    public async Task RedisUnresponsive_ServesFromSpanner_AndNoStaleWindowAfterwards()
    {
        var (user, chats) = await WarmChatsAsync(1);
        var chatId = chats[0];

        // Every node stops answering for a while, with the warm window still in it.
        await PauseAllNodesAsync(TimeSpan.FromSeconds(3));
        var written = await SendAsync(user, chatId, "written while Redis was stuck");
        var during = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);
        await Task.Delay(3500, Ct);

        var after = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);
        await Task.Delay(1000, Ct);
        var later = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);

        var reply = written[^1].Completed.Turn;
        Assert.Equal((reply.Seq, reply.Text), (during.Turns[0].Seq, during.Turns[0].Text));
        Assert.Equal((reply.Seq, reply.Text), (after.Turns[0].Seq, after.Turns[0].Text));
        Assert.Equal((reply.Seq, reply.Text), (later.Turns[0].Seq, later.Turns[0].Text));
    }

    [Fact]
    public async Task UpdatesRedisRefused_StaleWindowIsDroppedOnceRedisTakesWritesAgain()
    {
        var (user, chats) = await WarmChatsAsync(1);
        var chatId = chats[0];
        var windowKey = HistoryCache.WindowKey(chatId);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration + ",allowAdmin=true");
        var cachedHi = (long)await redis.GetDatabase().HashGetAsync(windowKey, "hi");

        // Redis refuses every script (the service's updates fail for real, not just late) but keeps
        // the warm, soon stale, window.
        await SetScriptsAllowedAsync(redis, allowed: false);
        try
        {
            var written = await SendAsync(user, chatId, "written while Redis refused updates");
            var during = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);
            Assert.Equal(written[^1].Completed.Turn.Text, during.Turns[0].Text);
        }
        finally
        {
            await SetScriptsAllowedAsync(redis, allowed: true);
        }

        // The stale window is dropped (not served, not kept): plain DELs still go through, and
        // anything left is invalidated once Redis takes scripts again.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await redis.GetDatabase().KeyExistsAsync(windowKey) && (long)await redis.GetDatabase().HashGetAsync(windowKey, "hi") == cachedHi)
        {
            Assert.True(DateTime.UtcNow < deadline, "the stale window is still in Redis 10 s after it answers again");
            await Task.Delay(100, Ct);
        }

        var truth = await Fixture.CountAsync("SELECT NextSeq FROM Chats WHERE ChatId = @c", ("c", chatId));
        var after = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);
        Assert.Equal(truth, after.Turns[0].Seq);
    }

    [Fact]
    public async Task RedisEntirelyDown_ServiceAnswersFromSpanner_AndFreshlyOnceItIsBack()
    {
        await Fixture.Stack.AssertEveryPrimaryHasSyncedReplicaAsync();
        var (user, chats) = await WarmChatsAsync(3);
        var ports = Fixture.Stack.RedisEndpoints.Select(e => int.Parse(e.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        try
        {
            foreach (var port in ports)
            {
                await Fixture.Stack.KillRedisNodeAsync(port);
            }

            foreach (var chatId in chats)
            {
                var sent = await SendAsync(user, chatId, "while Redis is down");
                var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);
                Assert.Equal(sent[^1].Completed.Turn.Text, history.Turns[0].Text);
            }
        }
        finally
        {
            await Fixture.Stack.RestartRedisNodeAsync(ports[0]);
        }

        foreach (var chatId in chats)
        {
            var truth = await Fixture.CountAsync("SELECT NextSeq FROM Chats WHERE ChatId = @c", ("c", chatId));
            for (var i = 0; i < 3; i++)
            {
                var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);
                Assert.Equal(truth, history.Turns[0].Seq);
                Assert.Equal(TurnState.Complete, history.Turns[0].State);
            }
        }
    }

    private async Task<(string User, List<string> Chats)> WarmChatsAsync(int count)
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var chats = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var chat = await CreateChatAsync(user, character);
            await SendAsync(user, chat.ChatId, "warm up");
            await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
            chats.Add(chat.ChatId);
        }

        return (user, chats);
    }

    private async Task LoadAsync(string user, List<string> chats, int worker, List<string> failures, CancellationToken stop)
    {
        var client = Fixture.Client(user);
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var chatId = chats[(worker + i) % chats.Count];
            try
            {
                if (i % 10 == worker)
                {
                    await SendAsync(user, chatId, $"load {worker}/{i}");
                }
                else
                {
                    await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: stop);
                }
            }
            catch (RpcException ex) when (!stop.IsCancellationRequested)
            {
                lock (failures)
                {
                    failures.Add($"{ex.StatusCode}: {ex.Status.Detail}");
                }
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task<int> SomePrimaryPortAsync()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration);
        var primary = redis.GetServers().First(s => s.IsConnected && !s.IsReplica);
        return ((System.Net.IPEndPoint)primary.EndPoint).Port;
    }

    /// <summary>Denies (or restores) EVAL/EVALSHA to the default user on every node.</summary>
    private static async Task SetScriptsAllowedAsync(IConnectionMultiplexer redis, bool allowed)
    {
        foreach (var server in redis.GetServers())
        {
            await server.ExecuteAsync("ACL", allowed ? ["SETUSER", "default", "+@all"] : ["SETUSER", "default", "-eval", "-evalsha"]);
        }
    }

    private async Task PauseAllNodesAsync(TimeSpan duration)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration + ",allowAdmin=true");
        foreach (var server in redis.GetServers())
        {
            await server.ExecuteAsync("CLIENT", "PAUSE", ((long)duration.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture), "ALL");
        }
    }
}
