using System.Diagnostics;
using ChatService.Api.V1;
using ChatService.Testing;
using ChatService.Tests.Dispatch;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Kind = ChatService.Api.V1.ReplyEvent.EventOneofCase;

namespace ChatService.Tests.Cache;

/// <summary>
/// Issue 13: two replicas, each with its near cache, under a randomized mix of sends (on either
/// replica) and first-page reads (on both). No replica's reads ever go back in time, and every
/// acknowledged change is seen by reads on both replicas that begin later than the stated bound
/// after the acknowledgement; the lag actually observed is printed.
/// </summary>
public sealed class NearCacheConsistencyTests(LocalStack stack, ITestOutputHelper output)
{
    /// <summary>
    /// The stated bound for a change to reach the other replica's readers through its announcement
    /// (it usually arrives before the writer's caller hears back). The replicas keep near copies for
    /// up to 10 s here, so only the announcements can meet it.
    /// </summary>
    private static readonly TimeSpan Bound = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(12);

    private const int Chats = 4;

    private const int PageSize = 20;

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RandomSendsAndReads_OnTwoReplicas_NeverGoBack_AndSeeEveryChangeWithinTheBound()
    {
        var settings = new Dictionary<string, string>(ChatServiceFixture.FastSimulatedBackend)
        {
            ["Inference:Backends:sim:MinTokens"] = "5",
            ["Inference:Backends:sim:MaxTokens"] = "20",
            ["Redis:NearCacheMaxAge"] = "00:00:10",
        };
        await using var pair = await ReplicaPair.StartAsync(stack, "nc", settings, settings, Ct);
        var (user, chatIds) = await pair.NewChatsAsync(Chats, route: null, Ct);
        ServiceProcess[] replicas = [pair.A, pair.B];

        var clock = Stopwatch.StartNew();
        var writes = new List<Write>();
        var reads = new List<Read>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        stop.CancelAfter(Duration);

        // One writer per chat (a chat's sends are sequential, as a person's are), on a random replica each time.
        var writers = chatIds.Select((chatId, i) => Task.Run(async () =>
        {
            var random = new Random(i);
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                var replica = replicas[random.Next(2)];
                using var call = replica.Client(user).SendMessage(new SendMessageRequest { ChatId = chatId, Text = $"message {n++}", RequestId = Guid.NewGuid().ToString("N") }, cancellationToken: Ct);
                await foreach (var e in call.ResponseStream.ReadAllAsync(Ct))
                {
                    if (e.EventCase == Kind.Accepted)
                    {
                        Add(writes, new Write(chatId, e.Accepted.UserTurn.Seq, TurnState.Complete, e.Accepted.UserTurn.Text, clock.Elapsed));
                    }
                    else if (e.EventCase == Kind.Completed)
                    {
                        Add(writes, new Write(chatId, e.Completed.Turn.Seq, TurnState.Complete, e.Completed.Turn.Text, clock.Elapsed));
                    }
                }

                await Task.Delay(random.Next(0, 30), Ct);
            }
        }, Ct)).ToList();

        // Two readers per replica, each on random chats.
        var readers = Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
        {
            var random = new Random(100 + i);
            var replica = i % 2;
            var client = replicas[replica].Client(user);
            while (!stop.IsCancellationRequested)
            {
                var chatId = chatIds[random.Next(Chats)];
                var started = clock.Elapsed;
                var page = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = PageSize }, cancellationToken: Ct);
                Add(reads, new Read(replica, chatId, started, clock.Elapsed, page.Turns.ToDictionary(t => t.Seq)));
            }
        }, Ct)).ToList();

        await Task.WhenAll(writers.Concat(readers));

        Assert.True(writes.Count > 50, $"only {writes.Count} changes were acknowledged: too few to mean anything");
        Assert.True(reads.Count > 500, $"only {reads.Count} reads were made: too few to mean anything");
        AssertNeverBack(reads);
        var lags = AssertSeenWithinBound(writes, reads);

        // And, once the bound has passed, both replicas show what Spanner holds.
        await Task.Delay(Bound, Ct);
        foreach (var chatId in chatIds)
        {
            var truth = await pair.A.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = 100 }, cancellationToken: Ct);
            foreach (var replica in replicas)
            {
                var page = await replica.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = PageSize }, cancellationToken: Ct);
                Assert.Equal(truth.Turns.Take(PageSize), page.Turns);
            }
        }

        // The near caches did serve: the test is about them.
        foreach (var replica in replicas)
        {
            var metrics = await MetricsScrape.TakeAsync(Http, replica, Ct);
            Assert.True(metrics["chat_cache_near_hits_total"] > reads.Count / 10,
                $"replica {replica.Pid}'s near cache served {metrics["chat_cache_near_hits_total"]} of about {reads.Count / 2} reads: the test did not exercise it");
        }

        lags.Sort();
        output.WriteLine($"{writes.Count} changes, {reads.Count} reads in {Duration.TotalSeconds} s; " +
            $"reads on the other replica that began after a change's acknowledgement and still missed it: {lags.Count}; " +
            $"their lag behind the acknowledgement: max {(lags.Count == 0 ? 0 : lags[^1].TotalMilliseconds):F1} ms");
    }

    /// <summary>On each replica, a read that began after another one returned never shows an older chat.</summary>
    private static void AssertNeverBack(List<Read> reads)
    {
        foreach (var group in reads.GroupBy(r => (r.Replica, r.ChatId)))
        {
            var byEnd = group.OrderBy(r => r.Ended).ToList();
            var newest = 0L;
            var states = new Dictionary<long, Turn>();
            var next = 0;
            foreach (var read in group.OrderBy(r => r.Started))
            {
                for (; next < byEnd.Count && byEnd[next].Ended < read.Started; next++)
                {
                    newest = Math.Max(newest, byEnd[next].Newest);
                    foreach (var (seq, turn) in byEnd[next].Turns)
                    {
                        if (!states.TryGetValue(seq, out var known) || Rank(turn) > Rank(known))
                        {
                            states[seq] = turn;
                        }
                    }
                }

                Assert.True(read.Newest >= newest,
                    $"replica {"AB"[read.Replica]} went back in time on chat {read.ChatId}: a read begun at {read.Started} shows turn {read.Newest} as the newest after an earlier read showed {newest}");
                foreach (var (seq, turn) in read.Turns)
                {
                    if (states.TryGetValue(seq, out var known) && Rank(turn) < Rank(known))
                    {
                        Assert.Fail($"replica {"AB"[read.Replica]} went back in time on chat {read.ChatId}: turn {seq} shows {turn.State} after an earlier read showed {known.State}");
                    }
                }
            }
        }
    }

    /// <summary>
    /// Every read that began later than the bound after a change was acknowledged shows it; returns
    /// how far behind the acknowledgement each read that began after it but still missed it was.
    /// </summary>
    private static List<TimeSpan> AssertSeenWithinBound(List<Write> writes, List<Read> reads)
    {
        var lags = new List<TimeSpan>();
        var byChat = reads.GroupBy(r => r.ChatId).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var write in writes)
        {
            foreach (var read in byChat[write.ChatId].Where(r => r.Started > write.Acknowledged && !r.Shows(write)))
            {
                var lag = read.Started - write.Acknowledged;
                Assert.True(lag <= Bound,
                    $"replica {"AB"[read.Replica]} served chat {write.ChatId} without turn {write.Seq} ({write.State}) {lag.TotalMilliseconds:F1} ms after it was acknowledged");
                lags.Add(lag);
            }
        }

        return lags;
    }

    private static int Rank(Turn turn) => turn.State switch
    {
        TurnState.Pending => 0,
        TurnState.Streaming => 1,
        _ => 2,
    };

    private static void Add<T>(List<T> list, T item)
    {
        lock (list)
        {
            list.Add(item);
        }
    }

    private sealed record Write(string ChatId, long Seq, TurnState State, string Text, TimeSpan Acknowledged);

    private sealed record Read(int Replica, string ChatId, TimeSpan Started, TimeSpan Ended, Dictionary<long, Turn> Turns)
    {
        public long Newest => Turns.Count == 0 ? 0 : Turns.Keys.Max();

        /// <summary>The write is in this page, or the page is all newer turns.</summary>
        public bool Shows(Write write) =>
            Turns.TryGetValue(write.Seq, out var turn)
                ? turn.State == write.State && turn.Text == write.Text
                : Turns.Count == PageSize && Turns.Keys.Min() > write.Seq;
    }
}
