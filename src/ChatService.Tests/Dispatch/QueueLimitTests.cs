using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Dispatch;

/// <summary>A one-slot queue and one worker, so a burst of sends overflows it.</summary>
public sealed class TinyQueueFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Inference:Backends:sim:Kind"] = "Simulated",
        ["Inference:Backends:sim:TimeToFirstToken"] = "00:00:00.020",
        ["Inference:Backends:sim:TokensPerSecond"] = "100",
        ["Inference:Backends:sim:MinTokens"] = "20",
        ["Inference:Backends:sim:MaxTokens"] = "20",
        ["Inference:Routes:default:0"] = "sim",
        ["Dispatch:QueueCapacity"] = "1",
        ["Dispatch:MaxConcurrentReplies"] = "1",
        ["Dispatch:SweepInterval"] = "00:00:00.200",
        ["Chat:ReplyLease"] = "00:00:01",
    };
}

public sealed class QueueLimitTests(TinyQueueFixture fixture) : ApiTestBase(fixture), IClassFixture<TinyQueueFixture>
{
    [Fact]
    public async Task QueueFull_IsResourceExhausted_AndTheOwedReplyIsStillDeliveredLater()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user, greeting: "");
        var chats = new List<Chat>();
        for (var i = 0; i < 3; i++)
        {
            chats.Add(await CreateChatAsync(user, character));
        }

        // The one worker is held by a reply that never produces a token, the one queue place by the next.
        using var held = Fixture.Client(user).SendMessage(new SendMessageRequest { ChatId = chats[0].ChatId, Text = "hold [sim:hang]" }, cancellationToken: Ct);
        Assert.True(await held.ResponseStream.MoveNext(Ct));
        var heldSeq = held.ResponseStream.Current.Seq;
        await WaitUntilAsync(() => Fixture.Service<ChatService.Dispatch.ReplyDispatcher>().FreeCapacity == 1);
        using var queued = Fixture.Client(user).SendMessage(new SendMessageRequest { ChatId = chats[1].ChatId, Text = "queued" }, cancellationToken: Ct);
        Assert.True(await queued.ResponseStream.MoveNext(Ct));

        var ex = await AssertStatusAsync(StatusCode.ResourceExhausted, () => SendAsync(user, chats[2].ChatId, "no room", "overflow"));
        Assert.Contains("recorded", ex.Status.Detail);
        // A retry with the same request_id after the hinted delay attaches to the recorded reply.
        Assert.InRange(ChatService.Tests.Limits.RetryInfoAssert.RetryDelay(ex), TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(10));

        // The rejected message is recorded; once the worker is free, every reply is delivered.
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c AND RequestId = 'overflow'", ("c", chats[2].ChatId)));
        await Fixture.Client(user).CancelReplyAsync(new CancelReplyRequest { ChatId = chats[0].ChatId, Seq = heldSeq }, cancellationToken: Ct);
        Assert.Equal(TurnState.Complete, (await WaitForReplyAsync(user, chats[1].ChatId)).State);
        Assert.Equal(TurnState.Complete, (await WaitForReplyAsync(user, chats[2].ChatId)).State);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.True(condition());
    }

    private async Task<Turn> WaitForReplyAsync(string user, string chatId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = 1 }, cancellationToken: Ct);
            if (history.Turns.Count > 0 && history.Turns[0].Role == AuthorRole.Character && history.Turns[0].State is not TurnState.Pending)
            {
                return history.Turns[0];
            }

            Assert.True(DateTime.UtcNow < deadline, "the reply was not delivered within 30 s");
            await Task.Delay(100, Ct);
        }
    }
}
