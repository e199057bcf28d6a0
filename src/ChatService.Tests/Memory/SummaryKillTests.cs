using System.Globalization;
using ChatService.Api.V1;
using ChatService.Memory;
using ChatService.Testing;
using ChatService.Tests.Dispatch;
using ChatService.Tests.Inference;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;
using StackExchange.Redis;

namespace ChatService.Tests.Memory;

/// <summary>
/// Two service processes on one database; replica A is SIGKILLed while it holds summary jobs (their model
/// calls held on a server under the test's control), with sends going on in every chat. B's sweep takes
/// A's jobs up once their leases run out, B's recovery finishes the replies A owed, and B goes on sending:
/// every chat ends with one summary version per span, the span A was on covered, none left due, no job
/// left, and every reply complete.
/// </summary>
[Collection(SummarySweepCollection.Name)]
public sealed class SummaryKillTests(LocalStack stack)
{
    private const int Chats = 4;
    private const int WindowTurns = 4;
    private const int EveryTurns = 4;

    // Large enough that a job never stops short of every turn due (so the final state is exact).
    private const int MaxTurnsPerJob = 100;

    // Exchanges each chat makes on A while A's summaries are stored normally (a summary is due about every
    // 2 exchanges: the reply of exchange i is turn 2i, its prompt keeps turns 2i-4..2i-1).
    private const int ExchangesBeforeHold = 8;

    // Most exchanges each chat makes on A after A's summary calls are held (A is killed long before).
    private const int MostExchangesWhileHeld = 12;

    // Exchanges each chat whose job A did not hold makes on B after the kill.
    private const int ExchangesAfterKill = 6;

    private static readonly TimeSpan SummaryLease = TimeSpan.FromSeconds(12);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // A's replies take about 0.8 s (B's a few ms), so that A dies with replies mid-generation for B's recovery to finish.
    private static Dictionary<string, string> SettingsOfA(Uri summarizer) => new(Settings(summarizer))
    {
        ["Inference:Backends:sim:TokensPerSecond"] = "40",
        ["Inference:Backends:sim:MinTokens"] = "30",
        ["Inference:Backends:sim:MaxTokens"] = "34",
    };

    private static Dictionary<string, string> Settings(Uri summarizer) => new(ChatServiceFixture.FastSimulatedBackend)
    {
        ["Chat:ReplyLease"] = "00:00:03",
        ["Dispatch:SweepInterval"] = "00:00:00.500",
        ["Dispatch:PromptWindowTurns"] = WindowTurns.ToString(CultureInfo.InvariantCulture),
        ["Inference:Backends:summarizer:Kind"] = "OpenAI",
        ["Inference:Backends:summarizer:BaseUrl"] = summarizer.ToString(),
        ["Inference:Backends:summarizer:Model"] = "summary-model",
        ["Inference:Routes:summary:0"] = "summarizer",
        ["Summary:Enabled"] = "true",
        ["Summary:Route"] = "summary",
        ["Summary:EveryTurns"] = EveryTurns.ToString(CultureInfo.InvariantCulture),
        ["Summary:MaxTurnsPerJob"] = MaxTurnsPerJob.ToString(CultureInfo.InvariantCulture),
        ["Summary:SweepInterval"] = "00:00:00.500",
        ["Summary:RetryDelay"] = "00:00:00.500",
        ["Summary:Lease"] = SummaryLease.ToString(),
        // Under the lease; long enough that A's held call is still waiting when the test kills A, even when a
        // loaded machine takes seconds between the first held call and the kill (a call that timed out would be
        // logged as failed and retried, not held at the kill).
        ["Summary:CallTimeout"] = "00:00:10",
        ["Summary:MaxAttempts"] = "3",
        ["Redis:OperationTimeout"] = "00:00:05",
    };

    [Fact]
    public async Task ReplicaKilledHoldingSummaryJobs_TheSweepHandsThemToTheOther_OneSummaryPerSpan_NoneLost_EveryReplyComplete()
    {
        await using var heldSummarizer = await FakeOpenAIServer.StartAsync(Ct);
        await using var summarizer = await FakeOpenAIServer.StartAsync(Ct);
        heldSummarizer.ReplyChunks = ["SUMMARY A"];
        summarizer.ReplyChunks = ["SUMMARY B"];
        await using var pair = await ReplicaPair.StartAsync(stack, "sk", SettingsOfA(heldSummarizer.BaseUrl), Settings(summarizer.BaseUrl), Ct);
        var replicaA = "a-" + pair.Database.DatabaseId;
        var replicaB = "b-" + pair.Database.DatabaseId;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(stack.RedisConfiguration);
        var keys = redis.GetDatabase();
        await using var database = SpannerDatabaseClient.Create(pair.Database.SpannerOptions);
        var (user, chatIds) = await pair.NewChatsAsync(Chats, route: null, Ct);
        var chats = chatIds.Select(id => new ChatRun(id)).ToList();

        // A stores summaries as usual for a while, every chat sending at once (each chat's sends in sequence).
        await Task.WhenAll(chats.Select(async chat =>
        {
            while (chat.Exchanges < ExchangesBeforeHold)
            {
                await ExchangeAsync(pair.A, user, chat, pair.Outputs);
            }
        }));
        var storedByA = await SummariesAsync(database, chatIds);
        Assert.True(storedByA.Values.Sum(v => v.Count) > 0, $"A stored no summary before its calls were held:\n{pair.Outputs()}");

        // From here A's summary calls wait (until A dies), and the sends go on. Once a call is held and A's
        // lease for it is in Redis, A is killed while a reply streams.
        var hold = new TaskCompletionSource();
        heldSummarizer.FirstChunkGate = hold.Task;
        var heldBefore = heldSummarizer.Requests.Count;
        var killing = false;
        var afterKill = new TaskCompletionSource<IReadOnlyDictionary<string, long>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sends = chats.Select(async chat =>
        {
            while (!Volatile.Read(ref killing) && chat.Exchanges < ExchangesBeforeHold + MostExchangesWhileHeld)
            {
                try
                {
                    await ExchangeAsync(pair.A, user, chat, pair.Outputs);
                }
                catch (RpcException) when (Volatile.Read(ref killing))
                {
                    // Cut by the kill: the same request again on B attaches to the reply if A recorded the
                    // turn (B's recovery finishes it), or records it afresh if A did not.
                    await ExchangeAsync(pair.B, user, chat, pair.Outputs);
                }
            }

            // A chat whose job A held gets no new message after the one the kill cut: its job is for B's sweep
            // to take up once A's lease runs out (the test waits for the sweep's entry to go, too).
            if (!(await afterKill.Task).ContainsKey(chat.ChatId))
            {
                for (var i = 0; i < ExchangesAfterKill; i++)
                {
                    await ExchangeAsync(pair.B, user, chat, pair.Outputs);
                }
            }
        }).ToList();

        var start = DateTime.UtcNow;
        // Streaming last: it changes fastest, so it is the one that must still hold at the kill just after.
        while (heldSummarizer.Requests.Count == heldBefore || (await LeasesAsync(keys, chatIds, replicaA)).Count == 0 || !chats.Any(c => c.Streaming))
        {
            Assert.True(DateTime.UtcNow - start < Deadline && chats.Any(c => c.Exchanges < ExchangesBeforeHold + MostExchangesWhileHeld),
                $"A never held a summary job (held calls: {heldSummarizer.Requests.Count - heldBefore}):\n{pair.Outputs()}");
            await Task.Delay(25, Ct);
        }

        Volatile.Write(ref killing, true);
        await pair.A.KillAsync();

        // A's leases as it died (it can neither renew nor give them back): the chats and spans only B's sweep can take up.
        var heldByA = await LeasesAsync(keys, chatIds, replicaA);
        afterKill.SetResult(heldByA);
        Assert.True(heldByA.Count > 0, $"A's summary leases ran out before the test read them; nothing was held at the kill:\n{pair.Outputs()}");
        var owedByA = await database.CountAsync($"SELECT COUNT(*) FROM Candidates WHERE OwedShard IS NOT NULL AND LeaseOwner = '{replicaA}'");
        Assert.True(owedByA > 0, $"no reply was mid-generation on A when it died: B's recovery is not exercised\n{pair.Outputs()}");
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"A killed holding {string.Join(", ", heldByA.Select(h => $"{h.Key} through {h.Value}"))}; " +
            $"{heldSummarizer.Requests.Count - heldBefore} calls held; {owedByA} replies owed; exchanges at the kill: {string.Join(", ", chats.Select(c => c.Exchanges))}");

        await Task.WhenAll(sends).WaitAsync(Deadline, Ct);

        // Quiet: no lease, no job listed for the sweep or recorded in Spanner, and A's spans covered.
        await WaitQuietAsync(pair, keys, database, chatIds, stored => heldByA.All(h =>
            stored[h.Key].Count > 0 && stored[h.Key][^1].ThroughSeq >= h.Value),
            "A's held spans covered", pair.Outputs);

        var summaries = await SummariesAsync(database, chatIds);
        foreach (var (chatId, through) in heldByA)
        {
            // The first version past A's span was B's, made after the kill (A's call never came back).
            var covering = summaries[chatId].First(s => s.ThroughSeq >= through);
            Assert.True(covering.Replica == replicaB,
                $"chat {chatId}: the span through {through} that A held is covered by {covering.Replica}'s version {covering.Version}, not B's");
            Assert.True(covering.Version > storedByA[chatId].Count,
                $"chat {chatId}: version {covering.Version} covering A's held span through {through} was stored before the kill");
        }

        // One more exchange per chat on B, once all is quiet: its trigger decides exactly what the chat's summary
        // ends at (a trigger dropped earlier, while a job of its chat ran, is caught up here).
        var expected = new Dictionary<string, long>();
        await Task.WhenAll(chats.Select(async chat =>
        {
            var reply = await ExchangeAsync(pair.B, user, chat, pair.Outputs);
            var before = summaries[chat.ChatId].Count == 0 ? 0 : summaries[chat.ChatId][^1].ThroughSeq;
            var oldestKept = Math.Max(1, reply.Seq - WindowTurns);
            lock (expected)
            {
                expected[chat.ChatId] = SummaryTrigger.DueThrough(oldestKept, before, EveryTurns, MaxTurnsPerJob) ?? before;
            }
        }));

        await WaitQuietAsync(pair, keys, database, chatIds, stored => chatIds.All(id =>
            (stored[id].Count == 0 ? 0 : stored[id][^1].ThroughSeq) == expected[id]),
            "every chat's summary at its expected turn", pair.Outputs);

        summaries = await SummariesAsync(database, chatIds);
        var calls = await database.QueryListAsync(new SpannerStatement(
            "SELECT ChatId, IFNULL(Version, 0) AS Version, Replica, Outcome FROM SummaryCalls"), cancellationToken: Ct);
        foreach (var chat in chats)
        {
            var versions = summaries[chat.ChatId];
            var last = 0L;
            for (var v = 0; v < versions.Count; v++)
            {
                var s = versions[v];

                // No double summary: versions 1..n, each on the one before, each over the turns after it.
                Assert.Equal(v + 1, s.Version);
                Assert.Equal(v, s.BaseVersion);
                Assert.True(s.FromSeq == last + 1 && s.ThroughSeq > last,
                    $"chat {chat.ChatId}: version {s.Version} spans {s.FromSeq}..{s.ThroughSeq} after a summary through {last}");
                Assert.False(s.Discarded, $"chat {chat.ChatId}: version {s.Version} was discarded");
                last = s.ThroughSeq;

                // One model call stored per version, by the replica that stored it.
                var made = calls.Where(c => c.Get<string>("ChatId") == chat.ChatId && c.Get<long>("Version") == s.Version).ToList();
                Assert.True(made.Count == 1 && made[0].Get<string>("Replica") == s.Replica && made[0].Get<string>("Outcome") == "ok",
                    $"chat {chat.ChatId}: version {s.Version} ({s.Replica}) has {made.Count} stored model calls: " +
                    string.Join(", ", made.Select(c => $"{c.Get<string>("Replica")} {c.Get<string>("Outcome")}")));
            }

            // None lost: the summary reaches as far as the trigger rule asks after the chat's last reply.
            Assert.Equal(expected[chat.ChatId], last);
        }

        // No model call whose summary was not stored (A's held calls never came back, so it logged none).
        var unstored = calls.Where(c => chatIds.Contains(c.Get<string>("ChatId")) && c.Get<long>("Version") == 0).ToList();
        Assert.True(unstored.Count == 0,
            $"{unstored.Count} summary calls stored no version: " + string.Join(", ", unstored.Select(c => $"{c.Get<string>("ChatId")} {c.Get<string>("Replica")} {c.Get<string>("Outcome")}")));
        Assert.Equal(summaries.Values.Sum(v => v.Count(s => s.Replica == replicaB)), summarizer.Requests.Count);
        Assert.Equal(0, await database.CountAsync("SELECT COUNT(*) FROM SummaryJobs"));

        // Every reply complete, once per exchange: the kill and the summaries' troubles never failed one.
        Assert.Equal(0, await database.CountAsync("SELECT COUNT(*) FROM Candidates WHERE OwedShard IS NOT NULL"));
        foreach (var chat in chats)
        {
            var history = await pair.B.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 100 }, cancellationToken: Ct);
            Assert.Equal(2 * chat.Exchanges, history.Turns.Count);
            Assert.All(history.Turns, t => Assert.Equal(TurnState.Complete, t.State));
            Assert.Equal(chat.Exchanges, history.Turns.Count(t => t.Role == AuthorRole.User));
            Assert.Equal(chat.Exchanges, history.Turns.Count(t => t.Role == AuthorRole.Character && t.Text.Length > 0));
        }
    }

    /// <summary>A chat's exchanges so far (the next one's request id is its count).</summary>
    private sealed class ChatRun(string chatId)
    {
        public string ChatId { get; } = chatId;

        public int Exchanges { get; set; }

        /// <summary>Whether a reply of the chat is streaming on A (its first text arrived, not its end).</summary>
        public bool Streaming
        {
            get => Volatile.Read(ref _streaming);
            set => Volatile.Write(ref _streaming, value);
        }

        private bool _streaming;
    }

    private sealed record Summary(long Version, long BaseVersion, long FromSeq, long ThroughSeq, string Replica, bool Discarded);

    /// <summary>
    /// Sends the chat's next message on <paramref name="replica"/> (a retry of the last one when it was cut, by its
    /// request id) and reads its stream to the end: the reply, which must have completed.
    /// </summary>
    private static async Task<Turn> ExchangeAsync(ServiceProcess replica, string user, ChatRun chat, Func<string> outputs)
    {
        var request = new SendMessageRequest
        {
            ChatId = chat.ChatId,
            Text = $"message {chat.Exchanges + 1} of chat {chat.ChatId}",
            RequestId = $"send-{chat.Exchanges + 1}",
        };
        using var call = replica.Client(user).SendMessage(request, deadline: DateTime.UtcNow + Deadline, cancellationToken: Ct);
        var events = new List<ReplyEvent>();
        try
        {
            await foreach (var e in call.ResponseStream.ReadAllAsync(Ct))
            {
                events.Add(e);
                chat.Streaming = e.EventCase == ReplyEvent.EventOneofCase.Delta;
            }
        }
        finally
        {
            chat.Streaming = false;
        }

        Assert.True(events.Count > 0 && events[^1].EventCase == ReplyEvent.EventOneofCase.Completed,
            $"the reply to {request.RequestId} of chat {chat.ChatId} did not complete: {string.Join(", ", events.Select(e => e.EventCase))}\n{outputs()}");
        chat.Exchanges++;
        return events[^1].Completed.Turn;
    }

    /// <summary>The chats whose summary lease <paramref name="replica"/> holds, with the span each was taken for.</summary>
    private static async Task<Dictionary<string, long>> LeasesAsync(IDatabase keys, IEnumerable<string> chatIds, string replica)
    {
        var held = new Dictionary<string, long>();
        foreach (var chatId in chatIds)
        {
            // The lease's value is "replica|throughSeq|nonce".
            var value = (string?)await keys.StringGetAsync(SummaryLeases.LeaseKey(chatId));
            if (value?.Split('|') is [var owner, var through, _] && owner == replica)
            {
                held[chatId] = long.Parse(through, CultureInfo.InvariantCulture);
            }
        }

        return held;
    }

    /// <summary>What is left of the chats' summary jobs: leases held, and entries listed for the sweep.</summary>
    private static async Task<List<string>> JobsLeftAsync(IDatabase keys, IEnumerable<string> chatIds)
    {
        var left = new List<string>();
        foreach (var chatId in chatIds)
        {
            if ((string?)await keys.StringGetAsync(SummaryLeases.LeaseKey(chatId)) is { } lease)
            {
                left.Add($"lease {lease}");
            }

            var shard = SummaryLeases.ListKey(chatId, new SummaryOptions().LeaseShards);
            left.AddRange((await keys.SortedSetRangeByRankAsync(shard)).Select(m => m.ToString())
                .Where(m => m.StartsWith(chatId + "|", StringComparison.Ordinal)).Select(m => $"listed {m}"));
        }

        return left;
    }

    /// <summary>
    /// Waits until no summary job of the chats is left (no lease, nothing listed for the sweep, no SummaryJobs row),
    /// <paramref name="done"/> holds of the stored summaries, and neither they nor B's count of summary runs
    /// moved over two looks a second apart (so no job was between its trigger and its lease).
    /// </summary>
    private static async Task WaitQuietAsync(ReplicaPair pair, IDatabase keys, SpannerDatabaseClient database, IReadOnlyList<string> chatIds,
        Func<Dictionary<string, List<Summary>>, bool> done, string what, Func<string> outputs)
    {
        var start = DateTime.UtcNow;
        string? previous = null;
        while (true)
        {
            var left = await JobsLeftAsync(keys, chatIds);
            var rows = await database.CountAsync("SELECT COUNT(*) FROM SummaryJobs");
            var summaries = await SummariesAsync(database, chatIds);
            var runs = (await MetricsScrape.TakeAsync(Http, pair.B.HttpPort, Ct))["chat_summary_runs_total"];
            var state = $"runs {runs}; " + string.Join("; ", summaries.Select(s => $"{s.Key}: {string.Join(",", s.Value.Select(v => $"v{v.Version}@{v.ThroughSeq}"))}"));
            if (left.Count == 0 && rows == 0 && done(summaries))
            {
                if (state == previous)
                {
                    return;
                }

                previous = state;
            }
            else
            {
                previous = null;
            }

            Assert.True(DateTime.UtcNow - start < Deadline,
                $"not quiet with {what} after {Deadline.TotalSeconds} s: jobs left [{string.Join(", ", left)}], {rows} SummaryJobs rows, {state}\n{outputs()}");
            await Task.Delay(previous is null ? 250 : 1000, Ct);
        }
    }

    private static async Task<Dictionary<string, List<Summary>>> SummariesAsync(SpannerDatabaseClient database, IEnumerable<string> chatIds)
    {
        var rows = await database.QueryListAsync(new SpannerStatement(
            "SELECT ChatId, Version, BaseVersion, FromSeq, ThroughSeq, Replica, DiscardTime IS NOT NULL AS Discarded FROM ChatSummaries ORDER BY ChatId, Version"),
            cancellationToken: Ct);
        var summaries = chatIds.ToDictionary(id => id, _ => new List<Summary>());
        foreach (var row in rows)
        {
            if (summaries.TryGetValue(row.Get<string>("ChatId"), out var list))
            {
                list.Add(new Summary(row.Get<long>("Version"), row.Get<long>("BaseVersion"), row.Get<long>("FromSeq"), row.Get<long>("ThroughSeq"),
                    row.Get<string>("Replica"), row.Get<bool>("Discarded")));
            }
        }

        return summaries;
    }
}
