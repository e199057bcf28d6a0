using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Limits;

/// <summary>The per-user token bucket on SendMessage, Regenerate and ContinueChat.</summary>
public sealed class RateLimitTests(TightRateFixture fixture) : ApiTestBase(fixture), IClassFixture<TightRateFixture>
{
    [Fact]
    public async Task SendMessage_OverRateLimit_ReturnsResourceExhaustedWithRetryInfo_AndWritesNothing()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        for (var i = 0; i < TightRateFixture.Burst; i++)
        {
            await SendAsync(user, chat.ChatId, $"message {i}");
        }

        var before = await Fixture.SnapshotAsync();

        var ex = await AssertStatusAsync(StatusCode.ResourceExhausted, () => SendAsync(user, chat.ChatId, "one too many"));

        Assert.Contains("12 per minute", ex.Status.Detail);
        var delay = RetryInfoAssert.RetryDelay(ex);
        Assert.InRange(delay, TimeSpan.FromMilliseconds(1), TightRateFixture.TokenPeriod);
        Assert.Equal(before, await Fixture.SnapshotAsync());

        // Retrying after the given delay succeeds (the bucket refills on a 100 ms heartbeat).
        await Task.Delay(delay + TimeSpan.FromMilliseconds(300), Ct);
        var events = await SendAsync(user, chat.ChatId, "after waiting");
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
    }

    [Fact]
    public async Task EditTurn_WithoutModeration_CallsNoClassifier_SoItDoesNotDrawOnTheBucket()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var client = Fixture.Client(user);
        var userSeq = (await SendAsync(user, chat.ChatId, "message 0"))[0].Accepted.UserTurn.Seq;
        for (var i = 0; i < TightRateFixture.Burst + 2; i++)
        {
            await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = userSeq, Text = $"edit {i}" }, cancellationToken: Ct);
        }

        // The bucket still has the rest of its burst for a send.
        var events = await SendAsync(user, chat.ChatId, "message 1");
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
    }

    [Fact]
    public async Task RegenerateAndContinueChat_DrawOnTheSameBucket_AndOtherUsersAreUnaffected()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user, "Ada"), await CreateCharacterAsync(user, "Bob"));
        var events = await SendAsync(user, chat.ChatId, "hello both");
        using (var regenerate = client.Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = events[^1].Seq }, cancellationToken: Ct))
        {
            await regenerate.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        }

        var before = await Fixture.SnapshotAsync();

        await AssertStatusAsync(StatusCode.ResourceExhausted, async () =>
        {
            using var call = client.ContinueChat(new ContinueChatRequest { ChatId = chat.ChatId, Turns = 2 }, cancellationToken: Ct);
            await call.ResponseStream.MoveNext(Ct);
        });
        await AssertStatusAsync(StatusCode.ResourceExhausted, async () =>
        {
            using var call = client.Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = events[^1].Seq }, cancellationToken: Ct);
            await call.ResponseStream.MoveNext(Ct);
        });
        Assert.Equal(before, await Fixture.SnapshotAsync());

        // Reads are not limited, and the bucket is the user's own.
        await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        var other = TestUsers.New();
        var otherChat = await CreateChatAsync(other, await CreateCharacterAsync(other));
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, (await SendAsync(other, otherChat.ChatId, "my own bucket"))[^1].EventCase);
    }
}
