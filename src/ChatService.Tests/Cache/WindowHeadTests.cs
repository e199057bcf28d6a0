using ChatService.Cache;
using ChatService.Api.V1;
using Google.Protobuf;
using ChatService.Tests.Infrastructure;
using StackExchange.Redis;

namespace ChatService.Tests.Cache;

/// <summary>
/// The window's "head" (its newest turns as one value, framed as GetHistoryResponse.turns so a first
/// page is a prefix of it) always matches the window's own turns, and a head that is missing or
/// broken is never served.
/// </summary>
public sealed class WindowHeadTests(QuietFixture fixture) : QuietCacheTestBase(fixture)
{
    [Fact]
    public async Task Head_AfterPopulateAppendsAndReplySettles_HoldsTheWindowsNewestTurnsNewestFirst()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        for (var i = 0; i < 12; i++)
        {
            await SendAsync(user, chat.ChatId, $"message {i}");
        }

        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration);
        var key = HistoryCache.WindowKey(chat.ChatId);
        var hash = (await redis.GetDatabase().HashGetAllAsync(key)).ToDictionary(e => (string)e.Name!, e => (byte[])e.Value!);

        // 25 turns (greeting + 12 exchanges); the head holds the newest 20 of the window, newest first.
        var hi = long.Parse(System.Text.Encoding.ASCII.GetString(hash["hi"]));
        Assert.Equal(25, hi);
        var frames = Frames(hash["head"]);
        Assert.Equal(20, frames.Count);
        for (var i = 0; i < frames.Count; i++)
        {
            Assert.Equal(hash[$"t:{hi - i}"], frames[i]);
            Assert.Equal(hi - i, Turn.Parser.ParseFrom(frames[i]).Seq);
        }

        // ... and it is what GetHistory sends: the response is the head's first frames and the token.
        var page = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 20 }, cancellationToken: Ct);
        Assert.Equal(GetHistoryResponse.Parser.ParseFrom(hash["head"]).Turns, page.Turns);
    }

    [Fact]
    public async Task BrokenHead_IsNotServed_HistoryComesFromSpanner()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        await SendAsync(user, chat.ChatId, "hello");
        var expected = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration);
        await redis.GetDatabase().HashSetAsync(HistoryCache.WindowKey(chat.ChatId), "head", new byte[] { 0, 0, 1, 0, 42 });
        var reads = Spanner.SingleUseReads;

        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);

        Assert.Equal(expected.Turns, history.Turns);
        Assert.True(Spanner.SingleUseReads - reads >= 1);
    }

    [Fact]
    public async Task HeadTurnThatDoesNotDecode_IsNotServed_HistoryComesFromSpanner()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        await SendAsync(user, chat.ChatId, "hello");
        var expected = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration);
        // Framed correctly, but the turn itself is a truncated protobuf varint.
        await redis.GetDatabase().HashSetAsync(HistoryCache.WindowKey(chat.ChatId), "head", new byte[] { 0x0A, 3, 0xFF, 0xFF, 0xFF });
        var reads = Spanner.SingleUseReads;

        // One turn per page: a head with one frame answers it, so a frame that is not a Turn would go out as is.
        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 1 }, cancellationToken: Ct);

        Assert.Equal(expected.Turns.Take(1), history.Turns);
        Assert.True(Spanner.SingleUseReads - reads >= 1);
    }

    [Fact]
    public async Task WindowWithoutHead_IsServedByTheScriptPath_WithoutSpanner()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        await SendAsync(user, chat.ChatId, "hello");
        var expected = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration);
        Assert.True(await redis.GetDatabase().HashDeleteAsync(HistoryCache.WindowKey(chat.ChatId), "head"));
        var reads = Spanner.SingleUseReads;

        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);

        Assert.Equal(expected.Turns, history.Turns);
        Assert.Equal(0, Spanner.SingleUseReads - reads);
    }

    /// <summary>The head's frames: each a field-1, length-delimited entry (a Turn).</summary>
    private static List<byte[]> Frames(byte[] head)
    {
        var frames = new List<byte[]>();
        var input = new CodedInputStream(head);
        while (!input.IsAtEnd)
        {
            Assert.Equal(WireFormat.MakeTag(1, WireFormat.WireType.LengthDelimited), input.ReadTag());
            frames.Add(input.ReadBytes().ToByteArray());
        }

        return frames;
    }
}
