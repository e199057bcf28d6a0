using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Limits;

/// <summary>A user's replies in flight on a replica are capped; a slot frees when its reply settles, not when the caller leaves.</summary>
public sealed class ConcurrentReplyLimitTests(TwoRepliesFixture fixture) : ApiTestBase(fixture), IClassFixture<TwoRepliesFixture>
{
    [Fact]
    public async Task SendMessage_OverConcurrentReplies_ReturnsResourceExhausted_UntilAReplySettles()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var character = await CreateCharacterAsync(user);
        var chats = new List<Chat>();
        for (var i = 0; i < 3; i++)
        {
            chats.Add(await CreateChatAsync(user, character));
        }

        // Two replies that never produce a token hold both slots, though their callers go away after Accepted.
        var held = new List<(string ChatId, long Seq)>();
        for (var i = 0; i < 2; i++)
        {
            using var call = client.SendMessage(new SendMessageRequest { ChatId = chats[i].ChatId, Text = "hold [sim:hang]" }, cancellationToken: Ct);
            Assert.True(await call.ResponseStream.MoveNext(Ct));
            held.Add((chats[i].ChatId, call.ResponseStream.Current.Seq));
        }

        var before = await Fixture.SnapshotAsync();

        var ex = await AssertStatusAsync(StatusCode.ResourceExhausted, () => SendAsync(user, chats[2].ChatId, "a third at once"));

        Assert.Contains("at most 2 at a time", ex.Status.Detail);
        Assert.InRange(RetryInfoAssert.RetryDelay(ex), TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(10));
        Assert.Equal(before, await Fixture.SnapshotAsync());

        // Another user is not held back by this one.
        var other = TestUsers.New();
        var otherChat = await CreateChatAsync(other, await CreateCharacterAsync(other));
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, (await SendAsync(other, otherChat.ChatId, "hi"))[^1].EventCase);

        // Cancelling one settles it and frees its slot.
        await client.CancelReplyAsync(new CancelReplyRequest { ChatId = held[0].ChatId, Seq = held[0].Seq }, cancellationToken: Ct);
        var events = await SendWhenAdmittedAsync(user, chats[2].ChatId, "now there is room");
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);

        await client.CancelReplyAsync(new CancelReplyRequest { ChatId = held[1].ChatId, Seq = held[1].Seq }, cancellationToken: Ct);
    }

    [Fact]
    public async Task RepliesThatComplete_GiveTheirSlotsBack()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        // Many more sequential sends than slots: each reply's slot is back by the time its stream ends.
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, (await SendAsync(user, chat.ChatId, $"message {i}"))[^1].EventCase);
        }
    }

    /// <summary>The slot comes back when the settled reply's stream ends, a moment after CancelReply answers.</summary>
    private async Task<List<ReplyEvent>> SendWhenAdmittedAsync(string user, string chatId, string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            try
            {
                return await SendAsync(user, chatId, text, "admitted");
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, Ct);
            }
        }
    }
}
