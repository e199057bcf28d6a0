using ChatService.Cache;
using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;
using StackExchange.Redis;

namespace ChatService.Tests.Cache;

public sealed class CacheConsistencyTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    private const int Rounds = 8;

    [Fact]
    public async Task ConcurrentWritersAndReaders_CacheEqualsSpanner_AndNoReaderSeesATurnDisappear()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration);
        var random = new Random(20261123);

        for (var round = 0; round < Rounds; round++)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var readers = Enumerable.Range(0, 4).Select(_ => ReadMonotonicallyAsync(user, chat.ChatId, stop.Token)).ToList();
            var writers = Enumerable.Range(0, 4).Select(w => WriteRandomlyAsync(user, chat.ChatId, new Random(random.Next()), redis, stop.Token)).ToList();

            await Task.WhenAll(writers);
            await stop.CancelAsync();
            var violations = (await Task.WhenAll(readers)).SelectMany(v => v).ToList();

            Assert.True(violations.Count == 0, $"round {round}: {string.Join("; ", violations.Take(5))}");
            await AssertCacheMatchesSpannerAsync(user, chat.ChatId, round);
        }
    }

    /// <summary>Random sends, regenerations, candidate selections and cancels, with the window now and then evicted.</summary>
    private async Task WriteRandomlyAsync(string user, string chatId, Random random, IConnectionMultiplexer redis, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 5; i++)
        {
            var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = 10 }, cancellationToken: cancellationToken);
            var replies = history.Turns.Where(t => t.Role == AuthorRole.Character).ToList();
            var reply = replies.Count > 0 ? replies[random.Next(replies.Count)] : null;
            try
            {
                switch (random.Next(6))
                {
                    case 0 or 1:
                        await SendAsync(user, chatId, $"message {random.Next()}");
                        break;
                    case 2 when reply is not null:
                        using (var call = Fixture.Client(user).Regenerate(new RegenerateRequest { ChatId = chatId, Seq = reply.Seq }, cancellationToken: cancellationToken))
                        {
                            await call.ResponseStream.ReadAllAsync(cancellationToken).ToListAsync(cancellationToken);
                        }

                        break;
                    case 3 when reply is not null:
                        await Fixture.Client(user).SelectCandidateAsync(
                            new SelectCandidateRequest { ChatId = chatId, Seq = reply.Seq, CandidateId = reply.CandidateId }, cancellationToken: cancellationToken);
                        break;
                    case 4:
                        using (var call = Fixture.Client(user).SendMessage(new SendMessageRequest { ChatId = chatId, Text = "to be cut short" }, cancellationToken: cancellationToken))
                        {
                            await call.ResponseStream.MoveNext(cancellationToken);
                            var seq = call.ResponseStream.Current.Seq;
                            await Fixture.Client(user).CancelReplyAsync(new CancelReplyRequest { ChatId = chatId, Seq = seq }, cancellationToken: cancellationToken);
                        }

                        break;
                    default:
                        await redis.GetDatabase().KeyDeleteAsync(HistoryCache.WindowKey(chatId));
                        break;
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
            {
                // e.g. too many candidates on one turn: a refused request, not a consistency problem.
            }
        }
    }

    /// <summary>
    /// Reads the first page over and over: the newest seq never goes down, no seq below it that
    /// was seen goes missing, and a candidate's state never moves back to pending.
    /// </summary>
    private async Task<List<string>> ReadMonotonicallyAsync(string user, string chatId, CancellationToken cancellationToken)
    {
        var violations = new List<string>();
        var newest = 0L;
        var settled = new HashSet<string>();
        var candidates = new Dictionary<long, int>();
        while (!cancellationToken.IsCancellationRequested)
        {
            GetHistoryResponse page;
            try
            {
                page = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = 8 }, cancellationToken: cancellationToken);
            }
            catch (RpcException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            var top = page.Turns.Count == 0 ? 0 : page.Turns[0].Seq;
            if (top < newest)
            {
                violations.Add($"newest seq went back from {newest} to {top}");
            }

            newest = Math.Max(newest, top);
            var expected = Enumerable.Range(0, (int)Math.Min(8, top)).Select(i => top - i);
            if (!page.Turns.Select(t => t.Seq).SequenceEqual(expected))
            {
                violations.Add($"page below {top} is not contiguous: {string.Join(",", page.Turns.Select(t => t.Seq))}");
            }

            foreach (var turn in page.Turns.Where(t => t.Role == AuthorRole.Character))
            {
                var key = $"{turn.Seq}/{turn.CandidateId}";
                if (turn.State == TurnState.Pending && settled.Contains(key))
                {
                    violations.Add($"candidate {key} went back to pending");
                }

                if (turn.State is not (TurnState.Pending or TurnState.Streaming))
                {
                    settled.Add(key);
                }

                if (candidates.TryGetValue(turn.Seq, out var count) && turn.CandidateCount < count)
                {
                    violations.Add($"turn {turn.Seq} lost candidates: {count} → {turn.CandidateCount}");
                }

                candidates[turn.Seq] = Math.Max(count, turn.CandidateCount);
            }
        }

        return violations;
    }

    /// <summary>Once writes settle, the first page (from the cache) equals what Spanner holds.</summary>
    private async Task AssertCacheMatchesSpannerAsync(string user, string chatId, int round)
    {
        // Replies of cancelled or finished sends settle asynchronously; wait for none to be owed.
        for (var i = 0; i < 100 && await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND OwedShard IS NOT NULL", ("c", chatId)) > 0; i++)
        {
            await Task.Delay(50, Ct);
        }

        var cached = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = 50 }, cancellationToken: Ct);
        var rows = await Fixture.Database.QueryListAsync(new SpannerStatement(
            """
            SELECT t.Seq, t.PrimaryCandidateId, t.CandidateCount, IFNULL(c.Text, t.Text) AS Text, IFNULL(c.State, 3) AS State
            FROM Turns t LEFT JOIN Candidates c ON c.ChatId = t.ChatId AND c.Seq = t.Seq AND c.CandidateId = t.PrimaryCandidateId
            WHERE t.ChatId = @c ORDER BY t.Seq DESC LIMIT 50
            """).Add("c", chatId), cancellationToken: Ct);

        var fromSpanner = rows.Select(r => $"{r.Get<long>("Seq")}:{r.Get<string?>("PrimaryCandidateId")}:{r.Get<long>("CandidateCount")}:{r.Get<long>("State")}:{r.Get<string?>("Text")}");
        var fromCache = cached.Turns.Select(t => $"{t.Seq}:{(t.CandidateId.Length == 0 ? null : t.CandidateId)}:{t.CandidateCount}:{(int)t.State}:{t.Text}");
        Assert.True(fromSpanner.SequenceEqual(fromCache), $"round {round}: cache and Spanner differ\ncache:   {string.Join(" | ", fromCache)}\nspanner: {string.Join(" | ", fromSpanner)}");
    }
}
