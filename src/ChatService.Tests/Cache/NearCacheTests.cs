using ChatService.Cache;
using ChatService.Chats;
using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace ChatService.Tests.Cache;

/// <summary>
/// The near cache's rules, against the real Redis Cluster (its subscriptions and announcements are
/// real; heads are offered directly): what it keeps, when it lets go, and its memory bound.
/// </summary>
public sealed class NearCacheTests(LocalStack stack) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new();
    private ConnectionMultiplexer _redis = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync(stack.RedisConfiguration);

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task KeepsOnlyReadsBegunWhileListening_AndDropsThemOnTheChatsAnnouncement()
    {
        using var near = NearCacheWith(bytes: 1 << 20);
        var chatId = Guid.NewGuid().ToString("N");

        // A chat not held yet: its read is served, not kept; a hit in Redis makes the replica listen.
        Assert.Null(near.Begin(chatId).Slot);
        Assert.True(near.Accept(near.Begin(chatId), Head(10)));
        Assert.False(near.TryGet(chatId, out _));

        var ticket = await ListeningTicketAsync(near, chatId);
        Assert.True(near.Accept(ticket, Head(11)));
        Assert.True(near.TryGet(chatId, out var kept));
        Assert.Equal(11, kept.LastSeq);

        // What every window script publishes when it changes the window.
        await _redis.GetSubscriber().PublishAsync(HistoryCache.ChangedChannel(chatId), "changed");
        Assert.True(await EventuallyAsync(() => !near.TryGet(chatId, out _)), "the announcement did not drop the copy");
    }

    [Fact]
    public async Task ReadThatRacedAnAnnouncementOrAClear_IsServedButNotKept()
    {
        using var near = NearCacheWith(bytes: 1 << 20);
        var chatId = Guid.NewGuid().ToString("N");
        var raced = await ListeningTicketAsync(near, chatId);
        near.Changed(chatId);
        Assert.True(near.Accept(raced, Head(5)));
        Assert.False(near.TryGet(chatId, out _));

        var cleared = await ListeningTicketAsync(near, chatId);
        near.Clear("test");
        Assert.True(near.Accept(cleared, Head(5)));
        Assert.False(near.TryGet(chatId, out _));
        Assert.Equal(0, near.Bytes);
    }

    [Fact]
    public async Task HeadOlderThanOneAlreadyKept_IsRefused_EvenAfterTheCopyWasDropped()
    {
        using var near = NearCacheWith(bytes: 1 << 20);
        var chatId = Guid.NewGuid().ToString("N");
        Assert.True(near.Accept(await ListeningTicketAsync(near, chatId), Head(20)));
        near.Changed(chatId);

        Assert.False(near.Accept(near.Begin(chatId), Head(19)));
        Assert.True(near.Accept(near.Begin(chatId), Head(20)));
    }

    [Fact]
    public async Task ReadBegunEarlier_NeverReplacesTheCopyOfAReadBegunLater()
    {
        using var near = NearCacheWith(bytes: 1 << 20);
        var chatId = Guid.NewGuid().ToString("N");
        var earlier = await ListeningTicketAsync(near, chatId);
        var later = near.Begin(chatId);

        // The later read's answer comes back first (the thread pool reorders continuations).
        Assert.True(near.Accept(later, Head(11, "later")));
        Assert.True(near.Accept(earlier, Head(11, "earlier")));
        Assert.True(near.Accept(near.Begin(chatId) with { Floor = 0 }, Head(10, "older")));

        Assert.True(near.TryGet(chatId, out var kept));
        Assert.Equal("later", kept.UserId);
    }

    [Fact]
    public async Task CopyOlderThanItsMaxAge_IsNotServed()
    {
        using var near = NearCacheWith(bytes: 1 << 20);
        var chatId = Guid.NewGuid().ToString("N");
        Assert.True(near.Accept(await ListeningTicketAsync(near, chatId), Head(3)));
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.True(near.TryGet(chatId, out _));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(near.TryGet(chatId, out _));
    }

    [Fact]
    public async Task ManyChats_StayWithinTheBudget_LeastRecentlyUsedGoFirst()
    {
        const int budget = 64 * 1024;
        using var near = NearCacheWith(bytes: budget);
        var chatIds = Enumerable.Range(0, 300).Select(_ => Guid.NewGuid().ToString("N")).ToList();
        foreach (var chatId in chatIds)
        {
            _time.Advance(TimeSpan.FromMicroseconds(1));
            near.Accept(await ListeningTicketAsync(near, chatId), new WindowHead("user", 1, new EncodedTurns(new byte[1024], []), Complete: true));
            Assert.True(near.Bytes + near.Count * 512L <= budget, $"{near.Bytes} bytes in {near.Count} chats exceed the {budget} byte budget");
        }

        Assert.True(near.TryGet(chatIds[^1], out _), "the most recently used chat was evicted");
        Assert.False(near.TryGet(chatIds[0], out _), "the least recently used chat is still kept");
    }

    private NearCache NearCacheWith(long bytes)
    {
        var options = Options.Create(new RedisOptions { Endpoints = stack.RedisConfiguration, NearCacheBytes = bytes });
        var cache = new HistoryCache(_redis, options, _time, NullLogger<HistoryCache>.Instance);
        return new NearCache(_redis, cache, options, _time, NullLogger<NearCache>.Instance);
    }

    /// <summary>A ticket for a read begun once the chat is held and its subscription confirmed.</summary>
    private static async Task<NearCache.Ticket> ListeningTicketAsync(NearCache near, string chatId)
    {
        near.Listen(chatId);
        NearCache.Ticket ticket = default;
        Assert.True(await EventuallyAsync(() => (ticket = near.Begin(chatId)).Subscribed), "the chat's subscription was never confirmed");
        return ticket;
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                return false;
            }

            await Task.Delay(10, Ct);
        }

        return true;
    }

    /// <summary>A head; <paramref name="tag"/> stands in for its content (as the owner, which nothing here checks).</summary>
    private static WindowHead Head(long lastSeq, string tag = "user") => new(tag, lastSeq, EncodedTurns.Empty, Complete: true);
}
