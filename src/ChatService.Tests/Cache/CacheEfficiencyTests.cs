using ChatService.Cache;
using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Cache;

public sealed class CacheEfficiencyTests(QuietFixture fixture) : QuietCacheTestBase(fixture)
{
    [Fact]
    public async Task WarmChat_HistoryAndAnExchange_CostNoSpannerRead_AndTwoCommits()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        await SendAsync(user, chat.ChatId, "warm up");
        await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        // The new chat's count is folded into its character after CreateChat, a second later: not the exchange's cost.
        await Fixture.ChatCountsFoldedAsync(Ct);
        var reads = Spanner.SingleUseReads;
        var commits = Spanner.Commits;

        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        var exchange = await SendAsync(user, chat.ChatId, "and now?");
        var after = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);

        Assert.Equal(3, history.Turns.Count);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, exchange[^1].EventCase);
        // The window comes from Redis, and the reply's definitions (the character's current version and the
        // user's persona) from this replica's copy: their tokens in Redis show nothing changed since it was read.
        Assert.Equal(0, Spanner.SingleUseReads - reads);
        // The recording commit and the reply's settle commit, nothing else.
        Assert.Equal(2, Spanner.Commits - commits);
        Assert.Equal(5, after.Turns.Count);
        Assert.Equal(exchange[^1].Completed.Turn.Text, after.Turns[0].Text);
    }

    [Fact]
    public async Task WarmNaturalGroupChat_ChoosingItsSpeakers_CostsNoReadOrStatementOfItsOwn()
    {
        var user = TestUsers.New();
        var cast = new List<Character>();
        foreach (var name in new[] { "Ada", "Bruno", "Cleo" })
        {
            // Nobody speaks up unasked: each exchange has exactly one reply, as in the rotation chat.
            cast.Add(await Fixture.Client(user).CreateCharacterAsync(
                new CreateCharacterRequest { DisplayName = name, Persona = $"{name} talks.", Talkativeness = 0 }, cancellationToken: Ct));
        }

        async Task<Chat> GroupAsync(SpeakerStrategy strategy) => await Fixture.Client(user).CreateChatAsync(
            new CreateChatRequest { CharacterIds = { cast.Select(c => c.CharacterId) }, SpeakerStrategy = strategy }, cancellationToken: Ct);
        var rotation = await GroupAsync(SpeakerStrategy.Rotation);
        var natural = await GroupAsync(SpeakerStrategy.Natural);
        foreach (var chat in new[] { rotation, natural })
        {
            await SendAsync(user, chat.ChatId, "warm up, Ada");
            await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        }

        await Fixture.ChatCountsFoldedAsync(Ct);
        async Task<(long Reads, long Queries, long Commits, string Speaker)> ExchangeAsync(Chat chat, string text)
        {
            var (reads, queries, commits) = (Spanner.SingleUseReads, Spanner.Queries, Spanner.Commits);
            var events = await SendAsync(user, chat.ChatId, text);
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
            return (Spanner.SingleUseReads - reads, Spanner.Queries - queries, Spanner.Commits - commits,
                Assert.Single(events[0].Accepted.PendingTurns).CharacterId);
        }

        var rotated = await ExchangeAsync(rotation, "and now, Cleo?");
        var chosen = await ExchangeAsync(natural, "and now, Cleo?");

        Assert.Equal(cast[1].CharacterId, rotated.Speaker);
        Assert.Equal(cast[2].CharacterId, chosen.Speaker);
        // The speaker settings, the members' names and talkativeness come with the chat row the recording
        // transaction reads anyway: the same reads, statements and commits as a rotation chat's exchange.
        Assert.Equal((1L, 2L), (chosen.Reads, chosen.Commits));
        Assert.Equal((rotated.Reads, rotated.Queries, rotated.Commits), (chosen.Reads, chosen.Queries, chosen.Commits));
    }

    [Fact]
    public async Task NewChatsWarmedTogether_TheirFirstExchangesReadOnlyTheirDefinitions()
    {
        var owner = TestUsers.New();
        var character = await CreateCharacterAsync(owner, visibility: Visibility.Public);
        var users = Enumerable.Range(0, 8).Select(_ => TestUsers.New()).ToList();
        var chats = await Task.WhenAll(users.Select(u => CreateChatAsync(u, character)));
        await Task.WhenAll(users.Select((u, i) =>
            Fixture.Client(u).GetHistoryAsync(new GetHistoryRequest { ChatId = chats[i].ChatId }, cancellationToken: Ct).ResponseAsync));
        await Fixture.ChatCountsFoldedAsync(Ct);
        var reads = Spanner.SingleUseReads;
        var commits = Spanner.Commits;

        var exchanges = await Task.WhenAll(users.Select((u, i) => SendAsync(u, chats[i].ChatId, "hello")));

        Assert.All(exchanges, e => Assert.Equal(ReplyEvent.EventOneofCase.Completed, e[^1].EventCase));
        // One definitions read per chat's first reply (nothing kept for it yet); the windows come from Redis.
        Assert.Equal(users.Count, Spanner.SingleUseReads - reads);
        Assert.Equal(2 * users.Count, Spanner.Commits - commits);
    }

    [Fact]
    public async Task AfterACharacterOrPersonaChange_TheNextReplyReadsItsDefinitions_AndTheOneAfterNone()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var chat = await CreateChatAsync(user, character);
        await SendAsync(user, chat.ChatId, "warm up");
        await Fixture.ChatCountsFoldedAsync(Ct);

        async Task<long> ExchangeReadsAsync(string text)
        {
            var reads = Spanner.SingleUseReads;
            var exchange = await SendAsync(user, chat.ChatId, text);
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, exchange[^1].EventCase);
            return Spanner.SingleUseReads - reads;
        }

        Assert.Equal(0, await ExchangeReadsAsync("steady"));

        await Fixture.Client(user).UpdateCharacterAsync(new UpdateCharacterRequest
        {
            Character = new Character { CharacterId = character.CharacterId, Scenario = "A new scene." },
            UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "scenario" } },
        }, cancellationToken: Ct);
        // The definitions read (the character itself is not read again: this replica kept it when it wrote it).
        Assert.Equal(1, await ExchangeReadsAsync("after the update"));
        Assert.Equal(0, await ExchangeReadsAsync("steady again"));

        await Fixture.Client(user).CreatePersonaAsync(new CreatePersonaRequest { Name = "Sam", Description = "A sailor.", IsDefault = true }, cancellationToken: Ct);
        Assert.Equal(1, await ExchangeReadsAsync("as Sam"));
        Assert.Equal(0, await ExchangeReadsAsync("still Sam"));
    }

    [Fact]
    public async Task ColdChat_200ConcurrentReaders_CauseOneSpannerRead()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        await SendAsync(user, chat.ChatId, "hello");
        // Generating the reply loaded the window; evict it so the chat is cold.
        await using (var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration))
        {
            Assert.True(await redis.GetDatabase().KeyDeleteAsync(HistoryCache.WindowKey(chat.ChatId)));
        }

        // The new chat's count is folded a second after CreateChat, with a read of its own: on a loaded
        // machine that fold could land among the readers below and be counted as theirs.
        await Fixture.ChatCountsFoldedAsync(Ct);
        var reads = Spanner.SingleUseReads;

        var pages = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ =>
            Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync));

        Assert.Equal(1, Spanner.SingleUseReads - reads);
        Assert.All(pages, p => Assert.Equal([3L, 2L, 1L], p.Turns.Select(t => t.Seq)));
        // And it is cached now.
        await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal(1, Spanner.SingleUseReads - reads);
    }

    [Fact]
    public async Task WarmChat_OtherUser_IsNotFound_WithoutReadingSpanner()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        // The new chat's count is folded a second after CreateChat, with a read of its own.
        await Fixture.ChatCountsFoldedAsync(Ct);
        var reads = Spanner.SingleUseReads;

        await AssertStatusAsync(StatusCode.NotFound, () =>
            Fixture.Client(TestUsers.New()).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(0, Spanner.SingleUseReads - reads);
    }

    [Fact]
    public async Task LongChat_FirstPageFromTheWindow_DeeperPagesFromSpanner_SameTurns()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        for (var i = 0; i < 30; i++)
        {
            await SendAsync(user, chat.ChatId, $"message {i}");
        }

        // 61 turns; the window holds the newest 50.
        var seqs = new List<long>();
        var token = "";
        do
        {
            var page = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 40, PageToken = token }, cancellationToken: Ct);
            seqs.AddRange(page.Turns.Select(t => t.Seq));
            token = page.NextPageToken;
        }
        while (token != "");

        Assert.Equal(Enumerable.Range(1, 61).Reverse().Select(i => (long)i), seqs);
        var big = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 100 }, cancellationToken: Ct);
        Assert.Equal(61, big.Turns.Count);
    }

    [Fact]
    public async Task DeletedChat_IsNotServedFromTheCache()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);

        await Fixture.Client(user).DeleteChatAsync(new DeleteChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct);

        await AssertStatusAsync(StatusCode.NotFound, () =>
            Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
    }
}
