using ChatService.Api.V1;
using ChatService.Cache;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;
using StackExchange.Redis;

namespace ChatService.Tests.Shaping;

/// <summary>
/// Random sequences of every operation that changes a chat's history, with the window now and then
/// evicted: after each one, the first pages as clients read them (from the cached window) equal what
/// Spanner holds.
/// </summary>
public sealed class ShapingConsistencyTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    private const int Operations = 60;

    [Fact]
    public async Task EveryOperation_LeavesTheCachedHistoryEqualToSpanner()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration);
        var random = new Random(20261206);
        var done = new List<string>();

        for (var i = 0; i < Operations; i++)
        {
            var shown = (await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 20 }, cancellationToken: Ct)).Turns;
            var hidden = await HiddenSeqsAsync(chat.ChatId);
            var any = shown.Count > 0 ? shown[random.Next(shown.Count)] : null;
            var reply = shown.Where(t => t.Role == AuthorRole.Character).OrderBy(_ => random.Next()).FirstOrDefault();
            var operation = random.Next(13);
            try
            {
                switch (operation)
                {
                    case 0 or 1:
                        await SendAsync(user, chat.ChatId, $"message {i}");
                        done.Add("send");
                        break;
                    case 2 when reply is not null:
                        using (var call = client.Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = reply.Seq }, cancellationToken: Ct))
                        {
                            await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
                        }

                        done.Add($"regenerate {reply.Seq}");
                        break;
                    case 3 when reply is not null:
                        await client.SelectCandidateAsync(new SelectCandidateRequest { ChatId = chat.ChatId, Seq = reply.Seq, CandidateId = reply.CandidateId }, cancellationToken: Ct);
                        done.Add($"select {reply.Seq}");
                        break;
                    case 4 when any is not null:
                        await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { any.Seq } }, cancellationToken: Ct);
                        done.Add($"delete {any.Seq}");
                        break;
                    case 5 when hidden.Count > 0:
                        var restore = hidden.OrderBy(_ => random.Next()).Take(random.Next(1, 4)).ToList();
                        await client.RestoreTurnsAsync(new RestoreTurnsRequest { ChatId = chat.ChatId, Seqs = { restore } }, cancellationToken: Ct);
                        done.Add($"restore {string.Join(",", restore)}");
                        break;
                    case 6 when any is not null && random.Next(3) == 0:
                        await client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = any.Seq }, cancellationToken: Ct);
                        done.Add($"rewind {any.Seq}");
                        break;
                    case 7:
                        await redis.GetDatabase().KeyDeleteAsync(HistoryCache.WindowKey(chat.ChatId));
                        done.Add("evict");
                        break;
                    case 8 when reply is not null:
                        await client.RateCandidateAsync(new RateCandidateRequest { ChatId = chat.ChatId, Seq = reply.Seq, Stars = random.Next(1, 5) }, cancellationToken: Ct);
                        done.Add($"rate {reply.Seq}");
                        break;
                    case 10 when any is not null:
                        await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = any.Seq, Text = $"edited {i}" }, cancellationToken: Ct);
                        done.Add($"edit {any.Seq}");
                        break;
                    case 11:
                        var lastUser = shown.FirstOrDefault(t => t.Role == AuthorRole.User);
                        if (lastUser is not null && shown[0].Role == AuthorRole.Character && shown[0].ReplyToSeq == lastUser.Seq)
                        {
                            using var call = client.EditAndRegenerate(new EditTurnRequest { ChatId = chat.ChatId, Seq = lastUser.Seq, Text = $"asked again {i}" }, cancellationToken: Ct);
                            await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
                            done.Add($"edit-and-regenerate {lastUser.Seq}");
                        }

                        break;
                    case 9 when any is not null:
                        if (random.Next(2) == 0)
                        {
                            await client.PinTurnAsync(new PinTurnRequest { ChatId = chat.ChatId, Seq = any.Seq }, cancellationToken: Ct);
                            done.Add($"pin {any.Seq}");
                        }
                        else
                        {
                            await client.UnpinTurnAsync(new UnpinTurnRequest { ChatId = chat.ChatId, Seq = any.Seq }, cancellationToken: Ct);
                            done.Add($"unpin {any.Seq}");
                        }

                        break;
                    default:
                        await SendAsync(user, chat.ChatId, $"message {i}");
                        done.Add("send");
                        break;
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
            {
                // e.g. too many candidates on a turn: refused, and nothing changed.
                done.Add($"refused {operation}");
            }

            await AssertCacheMatchesSpannerAsync(user, chat.ChatId, done);
        }
    }

    private async Task<List<long>> HiddenSeqsAsync(string chatId)
    {
        var rows = await Fixture.Database.QueryListAsync(
            new SpannerStatement("SELECT Seq FROM Turns WHERE ChatId = @c AND HiddenTime IS NOT NULL").Add("c", chatId));
        return [.. rows.Select(r => r.Get<long>("Seq"))];
    }

    private async Task AssertCacheMatchesSpannerAsync(string user, string chatId, List<string> done)
    {
        for (var i = 0; i < 100 && await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND OwedShard IS NOT NULL", ("c", chatId)) > 0; i++)
        {
            await Task.Delay(50, Ct);
        }

        var rows = await Fixture.Database.QueryListAsync(new SpannerStatement(
            """
            SELECT t.Seq, t.PrimaryCandidateId, t.CandidateCount, IFNULL(c.Text, t.Text) AS Text, IFNULL(c.State, 3) AS State,
                   (SELECT r.Stars FROM Ratings r WHERE r.ChatId = c.ChatId AND r.Seq = c.Seq AND r.CandidateId = c.CandidateId) AS Stars
            FROM Turns t LEFT JOIN Candidates c ON c.ChatId = t.ChatId AND c.Seq = t.Seq AND c.CandidateId = t.PrimaryCandidateId
            WHERE t.ChatId = @c AND t.HiddenTime IS NULL ORDER BY t.Seq DESC LIMIT 20
            """).Add("c", chatId));
        var fromSpanner = rows.Select(r => $"{r.Get<long>("Seq")}:{r.Get<string?>("PrimaryCandidateId")}:{r.Get<long>("CandidateCount")}:{r.Get<long>("State")}:{r.Get<long?>("Stars") ?? 0}:{r.Get<string?>("Text")}").ToList();
        foreach (var pageSize in new[] { 20, 7 })
        {
            var cached = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = pageSize }, cancellationToken: Ct);
            var fromCache = cached.Turns.Select(t => $"{t.Seq}:{(t.CandidateId.Length == 0 ? null : t.CandidateId)}:{t.CandidateCount}:{(int)t.State}:{t.Rating?.Stars ?? 0}:{t.Text}");
            var expected = fromSpanner.Take(pageSize).ToList();
            Assert.True(expected.SequenceEqual(fromCache),
                $"after {string.Join(", ", done)}: cache (page {pageSize}) and Spanner differ\ncache:   {string.Join(" | ", fromCache)}\nspanner: {string.Join(" | ", expected)}");
            if (fromSpanner.Count > pageSize || (await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c AND HiddenTime IS NULL", ("c", chatId))) > pageSize)
            {
                Assert.NotEqual("", cached.NextPageToken);
            }
        }
    }
}
