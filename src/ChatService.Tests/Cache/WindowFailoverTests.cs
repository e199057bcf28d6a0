using System.Diagnostics;
using System.Globalization;
using System.Text;
using ChatService.Api.V1;
using ChatService.Cache;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spanner.Client;
using StackExchange.Redis;

namespace ChatService.Tests.Cache;

/// <summary>
/// Issue 13, item 4: a Redis primary acknowledges a write before its replica has it, so a replica
/// promoted after the primary dies can hold a chat's window without the last update. The test makes
/// that loss happen for real, 200 times over, on a Redis Cluster of its own (one primary with every
/// slot, one replica), with two in-process replicas of the service (each with its own connection
/// and near cache) on a database of its own:
/// <list type="number">
/// <item>both service replicas read the chat (windows and near caches warm), and the Redis replica
/// is shown to hold the same window as its primary;</item>
/// <item>the Redis replica is frozen (SIGSTOP) and its replication link closed from the primary's
/// side (a frozen node's socket would still take in what the primary sends, and it would apply it
/// once thawed); a message is sent and its reply completes (the service applies both to the window;
/// the test checks that the primary holds them); the primary is killed (SIGKILL), the replica thawed
/// and promoted (<c>CLUSTER FAILOVER TAKEOVER</c>), and the test checks that the promoted node's
/// window really is the one from before the change;</item>
/// <item>both service replicas read until each has served the chat from the new primary again;
/// every page that either serves must be what was committed, whatever path it took (near cache,
/// Redis, Spanner); reads may fail with UNAVAILABLE meanwhile;</item>
/// <item>the killed node is restarted on its port with its nodes.conf and rejoins as the new
/// replica, so roles swap every iteration.</item>
/// </list>
/// Which replica writes, which reads first after the failover, and whether the page comes from the
/// window's head (20 turns) or the window's script (30 turns) vary with the iteration, in every
/// combination.
/// </summary>
public sealed class WindowFailoverTests(LocalStack stack) : IAsyncLifetime
{
    private const int Iterations = 200;

    /// <summary>How long one iteration may take to get both service replicas back on Redis after the failover.</summary>
    private static readonly TimeSpan RecoveryLimit = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(10);

    private readonly ProcessDatabase _database = new(stack, "f");
    private readonly CacheCallRecorder _recorder = new();
    private PrivateRedisCluster _cluster = null!;
    private InProcessReplica[] _replicas = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        try
        {
            _cluster = await PrivateRedisCluster.StartAsync(replicas: 1, nodeTimeout: TimeSpan.FromMilliseconds(1000), Ct);
            // One after the other: the first creates the database's schema. Each is listed as soon as
            // it runs, so a failure of the second disposes the first.
            _replicas = [InProcessReplica.Start("A", Settings("a"), QuickReconnects)];
            _replicas = [.. _replicas, InProcessReplica.Start("B", Settings("b"), QuickReconnects)];
        }
        catch (Exception e)
        {
            // xUnit does not dispose an instance whose InitializeAsync threw: what did start (hosts,
            // Redis nodes, the database) goes now, without hiding why it failed.
            try
            {
                await DisposeAsync();
            }
            catch (Exception cleanup)
            {
                throw new AggregateException(e, cleanup);
            }

            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }

        _recorder.Dispose();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    private Dictionary<string, string> Settings(string replica)
    {
        var settings = new Dictionary<string, string>(ChatServiceFixture.FastSimulatedBackend)
        {
            // Short replies: the update under test is the user turn and its completed reply.
            ["Inference:Backends:sim:MinTokens"] = "3",
            ["Inference:Backends:sim:MaxTokens"] = "3",
            // Quiet: no recovery sweeps or health polls competing with the test for the emulator.
            ["Dispatch:SweepInterval"] = "01:00:00",
            ["Health:Period"] = "01:00:00",
            ["Summary:SweepInterval"] = "01:00:00",
            ["DataDeletion:SweepInterval"] = "01:00:00",
            // A summary drops the chat's window when it is stored, which this test must find in place.
            ["Summary:Enabled"] = "false",
            // The breaker opens after five failed calls in a row (a read waiting for the dead primary
            // times out after 250 ms); probe again after 200 ms rather than 2 s.
            ["Redis:BreakerOpenDuration"] = "00:00:00.200",
        };
        foreach (var (key, value) in stack.Endpoints.ServiceSettings(stack.ProjectId, stack.InstanceId, _database.DatabaseId))
        {
            settings[key] = value;
        }

        settings["Redis:Endpoints"] = _cluster.Configuration;
        settings["Chat:ReplicaId"] = replica + "-" + _database.DatabaseId;
        return settings;
    }

    /// <summary>
    /// The replicas' Redis connection as the service makes it, except that it notices sooner that a
    /// node is back: a heartbeat every 100 ms instead of every second, and a reconnect attempt on each
    /// (StackExchange.Redis otherwise retries at most once a heartbeat, backing off exponentially from
    /// 1 s). The killed node is back within a few hundred milliseconds and is the next iteration's
    /// primary; with the defaults each iteration would wait 1-3 s for the replicas to reconnect to it,
    /// reading Spanner meanwhile (correct, but 200 iterations would take ten minutes).
    /// </summary>
    private static void QuickReconnects(IServiceCollection services) =>
        services.AddSingleton<IConnectionMultiplexer>(sp =>
        {
            var config = sp.GetRequiredService<IOptions<RedisOptions>>().Value.ToConfiguration();
            config.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
            config.ReconnectRetryPolicy = new LinearRetry(100);
            return ConnectionMultiplexer.Connect(config);
        });

    [Fact(Timeout = 15 * 60 * 1000)]
    public async Task PrimaryKilledRightAfterAnAcknowledgedWindowUpdate_200Times_NoReplicaEverServesAStalePage()
    {
        // The timeout cancels this token: every wait below is bounded by it.
        var cancellationToken = TestContext.Current.CancellationToken;
        var chat = await NewChatAsync(cancellationToken);
        var primary = _cluster.Nodes[0];
        var replica = _cluster.Nodes[1];
        var stats = _replicas.ToDictionary(r => r.Name, _ => new ReplicaStats());
        var clock = Stopwatch.StartNew();
        var phases = new PhaseClock();
        for (var iteration = 1; iteration <= Iterations; iteration++)
        {
            // Every combination of writer, first reader after the failover, and page (the head's 20
            // turns, or 30 through the window's script) comes up every 8 iterations.
            var writer = _replicas[iteration % 2];
            var readers = iteration / 2 % 2 == 0 ? _replicas : [_replicas[1], _replicas[0]];
            var context = new IterationContext(iteration, chat, iteration / 4 % 2 == 0 ? 20 : 30);

            // 1. Both replicas read the chat (windows and near caches warm); the Redis replica holds the primary's window.
            var before = await WarmAsync(context, readers, primary, replica);
            phases.Mark("warm");

            // 2-4. An update the primary acknowledged, lost with it: the promoted replica's window lacks it.
            var promoted = await LoseAnUpdateAsync(context, writer, primary, replica, before);
            phases.Mark("change and failover");

            // 5. Every page served from now on is the truth; each replica reads until it serves from the new primary.
            await ReadUntilBackOnRedisAsync(readers, context, stats, $"after the failover to {replica} (promoted window: {Summary(promoted)})");
            var rebuilt = await RedisNodeClient.HashAsync(replica.Port, chat.WindowKey, Ct);
            Assert.True(WindowHolds(rebuilt, context.Truth[^1], replica.Id),
                $"Iteration {iteration}: after both replicas read the chat, the new primary's window is {Summary(rebuilt)}.");
            phases.Mark("reads");

            // 6. The dead node comes back on its port, with its nodes.conf, as the new primary's replica.
            await _cluster.RestartAsync(primary, Ct);
            await PrivateRedisCluster.WaitUntilSyncedAsync(primary, replica, Ct);
            phases.Mark("rejoin");
            (primary, replica) = (replica, primary);
        }

        // The truth the pages were held to is what Spanner holds.
        await AssertTruthIsStoredAsync(chat, cancellationToken);

        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"{Iterations} failovers in {clock.Elapsed.TotalSeconds:0.0} s ({clock.Elapsed.TotalMilliseconds / Iterations:0} ms each: {phases}).");
        foreach (var (name, s) in stats)
        {
            output?.WriteLine($"replica {name}: {s.Reads} reads after failovers ({s.Unavailable} UNAVAILABLE, {s.WithoutRedis} without a Redis call, " +
                $"{s.RedisErrors} with a failed Redis call); first to meet the stale window (and drop it) in {s.StaleWindowsDropped} iterations; " +
                $"back on Redis after at most {s.MaxReadsToRecover} reads, {s.MaxRecovery.TotalMilliseconds:0} ms.");
        }
    }

    /// <summary>
    /// The same loss, but nobody reads the chat while the promoted replica is primary: the node that
    /// wrote the window comes back as its replica, copies the window (which still bears that node's
    /// id, and still lacks the update) and is made primary again by a manual failover, as an operator
    /// or a rolling upgrade fails back (or as a second crash would). The window did miss an update and
    /// must not be served: a stamp of the node id alone would trust it again.
    /// </summary>
    [Fact(Timeout = 5 * 60 * 1000)]
    public async Task WindowThatMissedAnUpdate_IsNotServedWhenTheNodeThatWroteItIsPrimaryAgain()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var chat = await NewChatAsync(cancellationToken);
        var (primary, replica) = (_cluster.Nodes[0], _cluster.Nodes[1]);
        var context = new IterationContext(1, chat, 20);
        var before = await WarmAsync(context, _replicas, primary, replica);
        var promoted = await LoseAnUpdateAsync(context, _replicas[0], primary, replica, before);

        await _cluster.RestartAsync(primary, Ct);
        await PrivateRedisCluster.WaitUntilSyncedAsync(primary, replica, Ct);
        await PrivateRedisCluster.FailOverToAsync(primary, replica, Ct);
        var back = await RedisNodeClient.HashAsync(primary.Port, chat.WindowKey, Ct);
        Assert.True(SameHash(promoted, back),
            $"The node that wrote the window is primary again, but holds {Summary(back)}, not the window that missed the update ({Summary(promoted)}).");

        var stats = _replicas.ToDictionary(r => r.Name, _ => new ReplicaStats());
        await ReadUntilBackOnRedisAsync(_replicas, context, stats, $"after failing back to {primary} (its window: {Summary(back)})");
    }

    private async Task AssertTruthIsStoredAsync(FailoverChat chat, CancellationToken cancellationToken)
    {
        await using var database = SpannerDatabaseClient.Create(_database.SpannerOptions);
        var rows = await database.QueryListAsync(new SpannerStatement(
            "SELECT t.Seq, COALESCE(c.Text, t.Text) FROM Turns t LEFT JOIN Candidates c " +
            "ON c.ChatId = t.ChatId AND c.Seq = t.Seq AND c.CandidateId = t.PrimaryCandidateId " +
            "WHERE t.ChatId = @c ORDER BY t.Seq").Add("c", chat.ChatId), cancellationToken: cancellationToken);
        Assert.Equal(chat.Truth.Select(t => $"{t.Seq}: {t.Text}"), rows.Select(r => $"{r.Get<long>(0)}: {r.Get<string>(1)}"));
    }

    /// <summary>A chat of a new user's, made on replica A; its truth so far is its greeting (read before anything was cached, so from Spanner).</summary>
    private async Task<FailoverChat> NewChatAsync(CancellationToken cancellationToken)
    {
        var user = TestUsers.New();
        var a = _replicas[0].Client(user);
        var character = await a.CreateCharacterAsync(new CreateCharacterRequest
        {
            DisplayName = "Ada",
            Persona = "A patient mathematician.",
            Greeting = "Hello! Ask me anything.",
        }, cancellationToken: cancellationToken);
        var chat = await a.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: cancellationToken);
        var first = await a.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 100 }, cancellationToken: cancellationToken);
        return new FailoverChat(user, chat.ChatId, [.. first.Turns.Reverse()]);
    }

    /// <summary>
    /// Both service replicas read the chat (the truth), each is connected to both nodes, and the
    /// Redis replica holds exactly the primary's window, which is returned.
    /// </summary>
    private async Task<Dictionary<string, byte[]>> WarmAsync(IterationContext context, InProcessReplica[] readers, PrivateRedisCluster.Node primary, PrivateRedisCluster.Node replica)
    {
        foreach (var reader in readers)
        {
            var warm = await ReadAsync(reader, context);
            Assert.True(warm.Page is not null, context.Describe(reader, "before the change", warm, "failed: " + warm.Failure));
            AssertTruthful(reader, context, "before the change", warm);
        }

        foreach (var r in _replicas)
        {
            var redis = r.Services.GetRequiredService<IConnectionMultiplexer>();
            await PrivateRedisCluster.WaitAsync($"replica {r} to be connected to both Redis nodes", Ct,
                () => Task.FromResult(_cluster.Nodes.All(n => redis.GetServer(n.Address).IsConnected)));
        }

        var windowKey = context.Chat.WindowKey;
        var before = await RedisNodeClient.HashAsync(primary.Port, windowKey, Ct);
        Assert.True(before.Count > 0, $"Iteration {context.Iteration}: {primary} holds no window for the chat after both replicas read it.");
        await PrivateRedisCluster.WaitAsync($"{replica} to hold the window {primary} holds", Ct,
            async () => SameHash(before, await RedisNodeClient.HashAsync(replica.Port, windowKey, Ct)));
        return before;
    }

    /// <summary>
    /// The Redis replica is cut off (frozen, its replication link closed); <paramref name="writer"/>
    /// sends a message and its reply completes, which the service applies to the window and the
    /// primary acknowledges (checked); the primary is killed and the replica promoted, and its window
    /// is checked to be <paramref name="before"/>, without the update. Returns it.
    /// </summary>
    private async Task<Dictionary<string, byte[]>> LoseAnUpdateAsync(IterationContext context, InProcessReplica writer,
        PrivateRedisCluster.Node primary, PrivateRedisCluster.Node replica, Dictionary<string, byte[]> before)
    {
        var windowKey = context.Chat.WindowKey;
        using var frozen = await PrivateRedisCluster.FreezeAsync(replica, primary, Ct);

        var (userTurn, reply) = await SendAsync(writer, context);
        context.Truth.Add(userTurn);
        context.Truth.Add(reply);
        var acknowledged = await RedisNodeClient.HashAsync(primary.Port, windowKey, Ct);
        Assert.True(WindowHolds(acknowledged, reply, primary.Id),
            $"Iteration {context.Iteration}: the primary's window does not hold the completed reply #{reply.Seq} ({Summary(acknowledged)}).");

        await frozen.KillPrimaryAndTakeOverAsync(primary, Ct);
        var promoted = await RedisNodeClient.HashAsync(replica.Port, windowKey, Ct);
        Assert.True(SameHash(before, promoted) && Hi(promoted) < reply.Seq,
            $"Iteration {context.Iteration}: no loss to test: the promoted {replica} holds {Summary(promoted)}, " +
            $"not the window from before the change ({Summary(before)}).");
        return promoted;
    }

    /// <summary>Reads on each replica, in order, until each has had a read served by the new primary's window (a Redis hit).</summary>
    private async Task ReadUntilBackOnRedisAsync(InProcessReplica[] readers, IterationContext context, Dictionary<string, ReplicaStats> stats, string phase)
    {
        var pending = readers.ToList();
        var reads = readers.ToDictionary(r => r.Name, _ => 0);
        var clock = Stopwatch.StartNew();
        var staleDropped = false;
        while (pending.Count > 0)
        {
            foreach (var reader in pending.ToList())
            {
                var s = stats[reader.Name];
                var read = await ReadAsync(reader, context);
                reads[reader.Name]++;
                s.Reads++;
                if (read.Page is null)
                {
                    Assert.True(read.Failure == StatusCode.Unavailable,
                        context.Describe(reader, phase, read, $"failed with {read.Failure} (only UNAVAILABLE is allowed while Redis fails over)"));
                    s.Unavailable++;
                    continue;
                }

                AssertTruthful(reader, context, phase + $", read {reads[reader.Name]} there", read);
                if (read.Calls.Count == 0)
                {
                    s.WithoutRedis++;
                }

                if (read.Calls.Any(c => c.Result == "error"))
                {
                    s.RedisErrors++;
                }

                if (!staleDropped && read.Calls.Any(c => c is { Operation: "read", Result: "miss" }))
                {
                    staleDropped = true;
                    s.StaleWindowsDropped++;
                }

                if (read.Calls.Any(c => c is { Operation: "read", Result: "hit" }))
                {
                    pending.Remove(reader);
                    s.MaxReadsToRecover = Math.Max(s.MaxReadsToRecover, reads[reader.Name]);
                    s.MaxRecovery = clock.Elapsed > s.MaxRecovery ? clock.Elapsed : s.MaxRecovery;
                }
            }

            if (pending.Count > 0)
            {
                Assert.True(clock.Elapsed < RecoveryLimit,
                    $"Iteration {context.Iteration}: {string.Join(", ", pending)} did not serve the chat from the new primary within " +
                    $"{RecoveryLimit.TotalSeconds:0} s {phase} ({string.Join(", ", reads.Select(r => $"{r.Key}: {r.Value} reads"))}).");
                await Task.Delay(10, Ct);
            }
        }
    }

    private async Task<Read> ReadAsync(InProcessReplica reader, IterationContext context)
    {
        var (headers, trace) = _recorder.NewTrace();
        try
        {
            var page = await reader.Client(context.User).GetHistoryAsync(
                new GetHistoryRequest { ChatId = context.ChatId, PageSize = context.PageSize }, headers, DateTime.UtcNow + CallDeadline, Ct);
            return new Read(page, null, _recorder.Take(trace));
        }
        catch (RpcException e)
        {
            return new Read(null, e.StatusCode, _recorder.Take(trace));
        }
    }

    private static async Task<(Turn UserTurn, Turn Reply)> SendAsync(InProcessReplica writer, IterationContext context)
    {
        using var call = writer.Client(context.User).SendMessage(new SendMessageRequest
        {
            ChatId = context.ChatId,
            Text = $"iteration {context.Iteration}",
            RequestId = $"i{context.Iteration}",
        }, deadline: DateTime.UtcNow + CallDeadline, cancellationToken: Ct);
        var events = await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        var accepted = events.FirstOrDefault(e => e.EventCase == ReplyEvent.EventOneofCase.Accepted)?.Accepted;
        var completed = events.LastOrDefault()?.Completed;
        Assert.True(accepted is not null && completed is not null,
            $"Iteration {context.Iteration}: SendMessage on {writer} ended without Accepted and Completed: {string.Join(", ", events.Select(e => e.EventCase))}");
        return (accepted.UserTurn, completed.Turn);
    }

    private static void AssertTruthful(InProcessReplica reader, IterationContext context, string phase, Read read)
    {
        var expected = context.Expected();
        var served = read.Page!.Turns;
        var same = served.Count == expected.Count && served.Zip(expected).All(pair => Key(pair.First) == Key(pair.Second));
        Assert.True(same, context.Describe(reader, phase, read, "served a stale page"));
    }

    private static string Key(Turn turn) => $"{turn.Seq}|{turn.Role}|{turn.State}|{turn.Text}";

    /// <summary>True when the window's newest turn is <paramref name="reply"/> as completed, and its stamp names <paramref name="node"/>.</summary>
    private static bool WindowHolds(Dictionary<string, byte[]> window, Turn reply, string node) =>
        Hi(window) == reply.Seq
        && window.TryGetValue($"t:{reply.Seq}", out var turn) && Key(Turn.Parser.ParseFrom(turn)) == Key(reply)
        && window.TryGetValue("node", out var stamp) && Encoding.ASCII.GetString(stamp).StartsWith(node, StringComparison.Ordinal);

    private static long Hi(Dictionary<string, byte[]> window) =>
        window.TryGetValue("hi", out var hi) ? long.Parse(Encoding.ASCII.GetString(hi), CultureInfo.InvariantCulture) : -1;

    private static bool SameHash(Dictionary<string, byte[]> x, Dictionary<string, byte[]> y) =>
        x.Count == y.Count && x.All(e => y.TryGetValue(e.Key, out var v) && v.AsSpan().SequenceEqual(e.Value));

    private static string Summary(Dictionary<string, byte[]> window) =>
        window.Count == 0
            ? "no window"
            : $"hi {Hi(window)}, written by {(window.TryGetValue("node", out var node) ? Encoding.ASCII.GetString(node)[..8] : "?")}, {window.Count} fields";

    private sealed record Read(GetHistoryResponse? Page, StatusCode? Failure, IReadOnlyList<CacheCall> Calls);

    /// <summary>The chat under test: its owner, and the truth (every turn committed, oldest first).</summary>
    private sealed record FailoverChat(string User, string ChatId, List<Turn> Truth)
    {
        public string WindowKey => (string)HistoryCache.WindowKey(ChatId)!;
    }

    private sealed record IterationContext(int Iteration, FailoverChat Chat, int PageSize)
    {
        public string ChatId => Chat.ChatId;

        public string User => Chat.User;

        public List<Turn> Truth => Chat.Truth;

        /// <summary>The first page as committed: the newest turns, newest first.</summary>
        public List<Turn> Expected() => [.. Enumerable.Reverse(Truth).Take(PageSize)];

        public string Describe(InProcessReplica reader, string phase, Read read, string what)
        {
            var expected = Expected();
            var served = read.Page?.Turns.ToList() ?? [];
            var path = read.Calls.Count == 0 ? "no Redis call" : string.Join(" → ", read.Calls);
            return $"Iteration {Iteration}: replica {reader} {what} {phase} (page of {PageSize}; cache path: {path}).\n" +
                $"  expected last seq {Last(expected)}: {Texts(expected)}\n" +
                $"  served   last seq {Last(served)}: {Texts(served)}";
        }

        private static string Last(List<Turn> turns) => turns.Count == 0 ? "-" : turns[0].Seq.ToString(CultureInfo.InvariantCulture);

        private static string Texts(List<Turn> turns) =>
            string.Join(" | ", turns.Take(3).Select(t => $"#{t.Seq} {t.Role} {t.State} \"{(t.Text.Length > 40 ? t.Text[..40] + "…" : t.Text)}\""));
    }

    /// <summary>Where the time goes: the total of each phase over all iterations.</summary>
    private sealed class PhaseClock
    {
        private readonly Dictionary<string, TimeSpan> _totals = [];
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _marks;

        public void Mark(string phase)
        {
            _totals[phase] = _totals.GetValueOrDefault(phase) + _clock.Elapsed;
            _clock.Restart();
            _marks++;
        }

        public override string ToString() =>
            string.Join(", ", _totals.Select(t => $"{t.Key} {t.Value.TotalMilliseconds / Math.Max(1, _marks / _totals.Count):0} ms"));
    }

    private sealed class ReplicaStats
    {
        public int Reads;
        public int Unavailable;
        public int WithoutRedis;
        public int RedisErrors;
        public int StaleWindowsDropped;
        public int MaxReadsToRecover;
        public TimeSpan MaxRecovery;
    }
}
