using ChatService.Api.V1;
using ChatService.Chats;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Spanner.Client;
using StackExchange.Redis;

namespace ChatService.Tests.Cache;

/// <summary>The service with a short <c>Redis:ChangeDeadline</c>, so an abandoned change shows within a test's patience.</summary>
public sealed class ShortDeadlineFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(1);

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Redis:ChangeDeadline"] = "00:00:01",
    };
}

/// <summary>
/// Issue 13: a writer announces each change in the window's pending set before committing it, so
/// a writer that dies between its commit and its apply leaves a mark every replica sees: past the
/// deadline the window is dropped and reloaded, instead of being served without the commit until
/// its TTL. Refused changes leave no mark behind.
/// </summary>
public sealed class AbandonedChangeTests(ShortDeadlineFixture fixture) : ApiTestBase(fixture), IClassFixture<ShortDeadlineFixture>
{
    /// <summary>The deadline, then a near-cached copy's longest life (NearCacheMaxAge, 1 s), then slack for a busy machine.</summary>
    private static readonly TimeSpan Bound = ShortDeadlineFixture.Deadline + TimeSpan.FromSeconds(1) + TimeSpan.FromSeconds(3);

    [Fact]
    public async Task ChangeAnnouncedCommittedButNeverApplied_IsShownOnceItsDeadlinePasses()
    {
        var (user, chatId, userSeq) = await WarmChatAsync();

        // A writer announces its change and commits it, then dies before its apply.
        Assert.NotNull(await Fixture.Service<IChatChangeSink>().IntendAsync(chatId));
        await EditInSpannerAsync(chatId, userSeq, "edited by a writer that died");

        var shown = await WaitForTextAsync(user, chatId, userSeq, "edited by a writer that died", Bound);
        Assert.True(shown, $"the abandoned change was still not shown {Bound.TotalSeconds} s after it committed");
    }

    [Fact]
    public async Task CommitThatNeverAnnouncedItself_StaysUnseen_WhichIsWhyWritersAnnounce()
    {
        var (user, chatId, userSeq) = await WarmChatAsync();

        // The same commit without an announcement: the look-aside cache cannot know of it.
        await EditInSpannerAsync(chatId, userSeq, "edited behind the cache's back");

        Assert.False(await WaitForTextAsync(user, chatId, userSeq, "edited behind the cache's back", Bound));
    }

    [Fact]
    public async Task SendsAndRefusals_LeaveNoAnnouncementBehind()
    {
        var (user, chatId, _) = await WarmChatAsync();
        var stranger = TestUsers.New();
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => SendAsync(stranger, chatId, "not my chat"));
        await SendAsync(user, chatId, "one more");

        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration);
        Assert.Equal(0, await redis.GetDatabase().SortedSetLengthAsync($"chat:{{{chatId}}}:w:pending"));
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

    private Task EditInSpannerAsync(string chatId, long seq, string text) =>
        Fixture.Database.RunInTransactionAsync((tx, _) =>
        {
            tx.BufferWrite(SpannerMutation.Update("Turns").Set("ChatId", chatId).Set("Seq", seq).Set("Text", text));
            return Task.CompletedTask;
        }, Ct);

    /// <summary>Reads the first page until the turn shows <paramref name="text"/>, for at most <paramref name="bound"/>.</summary>
    private async Task<bool> WaitForTextAsync(string user, string chatId, long seq, string text, TimeSpan bound)
    {
        var until = DateTime.UtcNow + bound;
        while (DateTime.UtcNow < until)
        {
            var page = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);
            if (page.Turns.Single(t => t.Seq == seq).Text == text)
            {
                return true;
            }

            await Task.Delay(50, Ct);
        }

        return false;
    }
}
