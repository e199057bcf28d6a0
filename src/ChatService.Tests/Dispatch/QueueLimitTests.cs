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
        for (var i = 0; i < 6; i++)
        {
            chats.Add(await CreateChatAsync(user, character));
        }

        var outcomes = await Task.WhenAll(chats.Select(async c =>
        {
            try
            {
                await SendAsync(user, c.ChatId, "hello", "burst");
                return StatusCode.OK;
            }
            catch (RpcException ex)
            {
                return ex.StatusCode;
            }
        }));

        Assert.Contains(StatusCode.ResourceExhausted, outcomes);
        Assert.All(outcomes, o => Assert.True(o is StatusCode.OK or StatusCode.ResourceExhausted, $"unexpected {o}"));
        // Every message was recorded, and every reply is delivered: the rejected ones by recovery.
        foreach (var chat in chats)
        {
            var turn = await WaitForReplyAsync(user, chat.ChatId);
            Assert.Equal(TurnState.Complete, turn.State);
        }

        Assert.Equal(6, await Fixture.CountAsync("SELECT COUNT(*) FROM ModelCalls m JOIN Chats c ON c.ChatId = m.ChatId WHERE c.UserId = @u AND m.Outcome = 'ok'", ("u", user)));
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
