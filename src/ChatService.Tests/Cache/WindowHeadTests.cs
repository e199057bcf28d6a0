using System.Buffers.Binary;
using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using StackExchange.Redis;

namespace ChatService.Tests.Cache;

/// <summary>
/// The window's "head" (its newest turns as one value, read without a script) always matches the
/// window's own turns, and a head that is missing or broken is never served.
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
        var key = (RedisKey)$"chat:{{{chat.ChatId}}}:w";
        var hash = (await redis.GetDatabase().HashGetAllAsync(key)).ToDictionary(e => (string)e.Name!, e => (byte[])e.Value!);

        // 25 turns (greeting + 12 exchanges); the head holds the newest 20 of the window, newest first.
        var hi = long.Parse(System.Text.Encoding.ASCII.GetString(hash["hi"]));
        Assert.Equal(25, hi);
        var frames = Frames(hash["head"]);
        Assert.Equal(20, frames.Count);
        for (var i = 0; i < frames.Count; i++)
        {
            Assert.Equal(hash[$"t:{hi - i}"], frames[i]);
        }
    }

    [Fact]
    public async Task BrokenHead_IsNotServed_HistoryComesFromSpanner()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        await SendAsync(user, chat.ChatId, "hello");
        var expected = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration);
        await redis.GetDatabase().HashSetAsync($"chat:{{{chat.ChatId}}}:w", "head", new byte[] { 0, 0, 1, 0, 42 });
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
        await redis.GetDatabase().HashSetAsync($"chat:{{{chat.ChatId}}}:w", "head", new byte[] { 0, 0, 0, 3, 0xFF, 0xFF, 0xFF });
        var reads = Spanner.SingleUseReads;

        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);

        Assert.Equal(expected.Turns, history.Turns);
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
        Assert.True(await redis.GetDatabase().HashDeleteAsync($"chat:{{{chat.ChatId}}}:w", "head"));
        var reads = Spanner.SingleUseReads;

        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);

        Assert.Equal(expected.Turns, history.Turns);
        Assert.Equal(0, Spanner.SingleUseReads - reads);
    }

    private static List<byte[]> Frames(byte[] head)
    {
        var frames = new List<byte[]>();
        for (var offset = 0; offset < head.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(offset));
            frames.Add(head.AsSpan(offset + 4, length).ToArray());
            offset += 4 + length;
        }

        return frames;
    }
}
