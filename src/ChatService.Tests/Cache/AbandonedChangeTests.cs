using System.Collections.Concurrent;
using ChatService.Api.V1;
using ChatService.Cache;
using ChatService.Chats;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace ChatService.Tests.Cache;

/// <summary>
/// The service with a short <c>Redis:ChangeDeadline</c>, so an abandoned change shows within a
/// test's patience, and a change sink that can play a writer dying after its commits.
/// </summary>
public sealed class ShortDeadlineFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(1);

    public DyingWriterSink Sink => (DyingWriterSink)Service<IChatChangeSink>();

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Redis:ChangeDeadline"] = "00:00:01",
    };

    protected override void ConfigureServices(IServiceCollection services)
    {
        base.ConfigureServices(services);
        services.AddSingleton<IChatChangeSink>(sp => new DyingWriterSink(sp.GetRequiredService<RedisChatWindows>()));
    }
}

/// <summary>
/// The cache's change sink, except for chats marked here: their committed changes never reach it,
/// as when the writer dies between its commit and its apply; their announcements do, unless the
/// chat is marked as never announcing either.
/// </summary>
public sealed class DyingWriterSink(IChatChangeSink inner) : IChatChangeSink
{
    private readonly ConcurrentDictionary<string, bool> _dying = new();
    private int _announced;

    /// <summary>Announcements the stores made through this sink (and that it passed on).</summary>
    public int Announced => Volatile.Read(ref _announced);

    /// <summary>From now on the chat's changes are lost after their commit (and, unless <paramref name="announces"/>, never announced).</summary>
    public void Die(string chatId, bool announces) => _dying[chatId] = announces;

    public Task ChangedAsync(ChatChange change) => _dying.ContainsKey(change.ChatId) ? Task.CompletedTask : inner.ChangedAsync(change);

    public Task<string?> IntendAsync(string chatId, string? renew = null)
    {
        if (_dying.TryGetValue(chatId, out var announces) && !announces)
        {
            return Task.FromResult<string?>(null);
        }

        Interlocked.Increment(ref _announced);
        return inner.IntendAsync(chatId, renew);
    }

    public Task ReleaseAsync(string chatId, string intent) => inner.ReleaseAsync(chatId, intent);
}

/// <summary>
/// Issue 13: the stores announce each change in the window's pending set before committing it, so
/// a writer that dies between its commit and its apply leaves a mark every replica sees: past the
/// deadline the window is dropped and reloaded, instead of being served without the commit until
/// its TTL. Without the announcement the window stays as it was. Refused changes leave no mark.
/// </summary>
public sealed class AbandonedChangeTests(ShortDeadlineFixture fixture) : ApiTestBase(fixture), IClassFixture<ShortDeadlineFixture>
{
    /// <summary>The deadline, then a near-cached copy's longest life (NearCacheMaxAge, 1 s), then slack for a busy machine.</summary>
    private static readonly TimeSpan Bound = ShortDeadlineFixture.Deadline + TimeSpan.FromSeconds(1) + TimeSpan.FromSeconds(3);

    [Fact]
    public async Task WriterThatDiesAfterItsCommit_ItsChangeIsShownOnceTheDeadlinePasses()
    {
        var (user, chatId, _) = await WarmChatAsync();

        // The send commits (announced by the store, as every write is), but its apply never happens.
        fixture.Sink.Die(chatId, announces: true);
        var lost = await SendAsync(user, chatId, "sent by a writer that died");
        var seq = lost.First(e => e.EventCase == ReplyEvent.EventOneofCase.Accepted).Accepted.UserTurn.Seq;

        Assert.True(await WaitForTurnAsync(user, chatId, seq, Bound),
            $"turn {seq}, committed by a writer that died before its apply, was still not shown {Bound.TotalSeconds} s later");
    }

    [Fact]
    public async Task WriterThatNeverAnnounced_LeavesTheWindowAsItWas_WhichIsWhyWritersAnnounce()
    {
        var (user, chatId, _) = await WarmChatAsync();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration);
        var window = HistoryCache.WindowKey(chatId);
        var hi = (long)await redis.GetDatabase().HashGetAsync(window, "hi");

        fixture.Sink.Die(chatId, announces: false);
        await SendAsync(user, chatId, "sent behind the cache's back");
        await Task.Delay(ShortDeadlineFixture.Deadline * 2, Ct);
        for (var i = 0; i < 3; i++)
        {
            await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);
        }

        // Nothing marks the window: it is still there, without the turns (a look-aside cache cannot
        // know of a commit nobody tells it about).
        Assert.Equal(hi, (long)await redis.GetDatabase().HashGetAsync(window, "hi"));
    }

    [Fact]
    public async Task SendsAndRefusals_LeaveNoAnnouncementBehind()
    {
        var (user, chatId, _) = await WarmChatAsync();
        var stranger = TestUsers.New();
        var announced = fixture.Sink.Announced;
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => SendAsync(stranger, chatId, "not my chat"));
        await SendAsync(user, chatId, "one more");

        // The refusal, the send and its reply's settle were announced (else an empty set means nothing) ...
        Assert.True(fixture.Sink.Announced - announced >= 3, $"{fixture.Sink.Announced - announced} announcements for a refused send, a send and its settle");

        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration);
        Assert.Equal(0, await redis.GetDatabase().SortedSetLengthAsync(HistoryCache.PendingKey(chatId)));
    }

    /// <summary>A chat with an exchange, its history read (so its window is cached, and near-cached).</summary>
    private async Task<(string User, string ChatId, long UserSeq)> WarmChatAsync()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var events = await SendAsync(user, chat.ChatId, "hello");
        var userSeq = events.First(e => e.EventCase == ReplyEvent.EventOneofCase.Accepted).Accepted.UserTurn.Seq;
        for (var i = 0; i < 3; i++)
        {
            await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        }

        return (user, chat.ChatId, userSeq);
    }

    /// <summary>Reads the first page until it shows turn <paramref name="seq"/>, for at most <paramref name="bound"/>.</summary>
    private async Task<bool> WaitForTurnAsync(string user, string chatId, long seq, TimeSpan bound)
    {
        var until = DateTime.UtcNow + bound;
        while (DateTime.UtcNow < until)
        {
            var page = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);
            if (page.Turns.Any(t => t.Seq == seq))
            {
                return true;
            }

            await Task.Delay(50, Ct);
        }

        return false;
    }
}
