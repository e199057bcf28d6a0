using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using StackExchange.Redis;

namespace ChatService.Tests.Dispatch;

/// <summary>The service keeping no finished reply logs in memory, so every resume after the end reads storage.</summary>
public sealed class NoRetentionFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Dispatch:FinishedStreamRetention"] = "00:00:00",
    };
}

public sealed class StoredReplyStreamTests(NoRetentionFixture fixture) : ApiTestBase(fixture), IClassFixture<NoRetentionFixture>
{
    [Fact]
    public async Task StreamReply_OfAFinishedReply_ReplaysItsLogEventForEvent()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var live = await SendAsync(user, chat.ChatId, "hello");
        var seq = live[^1].Seq;
        await Fixture.Service<IConnectionMultiplexer>().GetDatabase().WaitForFinalAsync($"chat:{{{chat.ChatId}}}:r:{seq}:{live[^1].CandidateId}", Ct);

        var all = await ResumeAsync(user, chat.ChatId, seq, 0);
        var afterTwo = await ResumeAsync(user, chat.ChatId, seq, 2);
        var pastTheEnd = await ResumeAsync(user, chat.ChatId, seq, live.Count + 5);

        // SendMessage's own Accepted event lists every owed reply; the reply's log has its own.
        Assert.Equal(live.Skip(1), all.Skip(1));
        Assert.Equal(live.Skip(2), afterTwo);
        Assert.True(live.Count > 4, "the reply streamed as one delta");
        var final = Assert.Single(pastTheEnd);
        Assert.Equal((live.Count + 6L, live[^1].Completed.Turn.Text), (final.Sequence, final.Completed.Turn.Text));
    }

    [Fact]
    public async Task StreamReply_OfAnUndoneContinuationWhoseLogExpired_EndsFailedAsItsStreamDid()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var reply = (await SendAsync(user, chat.ChatId, "hello"))[^1];
        var seq = reply.Seq;
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, reply.EventCase);

        // The prompt's newest user turn now asks the simulated backend to fail before its first token: the continuation
        // adds nothing, so the reply goes back to what it was, and its stream ends failed.
        await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = seq - 1, Text = "hello [sim:fail-before-first-token]" }, cancellationToken: Ct);
        using var call = client.ContinueReply(new ContinueReplyRequest { ChatId = chat.ChatId, Seq = seq, RequestId = "undone" }, cancellationToken: Ct);
        var live = await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        var failed = live[^1];
        Assert.Equal(ReplyEvent.EventOneofCase.Failed, failed.EventCase);
        Assert.Equal((reply.Completed.Turn.Text, TurnState.Complete, 1), (failed.Failed.Turn.Text, failed.Failed.Turn.State, failed.Failed.Turn.Continuations));
        var redis = Fixture.Service<IConnectionMultiplexer>().GetDatabase();
        Assert.True(await redis.DeleteWhenEndedAsync($"chat:{{{chat.ChatId}}}:r:{seq}:{reply.CandidateId}:c1", Ct), "the continuation's log was not where it should be");

        var replay = await ResumeAsync(user, chat.ChatId, seq, 0);

        Assert.Equal(ReplyEvent.EventOneofCase.Failed, replay[^1].EventCase);
        Assert.Equal((failed.Failed.Code, failed.Failed.Reason), (replay[^1].Failed.Code, replay[^1].Failed.Reason));
        Assert.Equal((reply.Completed.Turn.Text, TurnState.Complete), (replay[^1].Failed.Turn.Text, replay[^1].Failed.Turn.State));
    }

    [Fact]
    public async Task StreamReply_OfAStoredReplyWhoseLogExpired_ReplaysItAndAlwaysEndsWithTheFinalEvent()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var live = await SendAsync(user, chat.ChatId, "hello");
        var seq = live[^1].Seq;
        var text = live[^1].Completed.Turn.Text;
        var redis = Fixture.Service<IConnectionMultiplexer>().GetDatabase();
        Assert.True(await redis.DeleteWhenEndedAsync($"chat:{{{chat.ChatId}}}:r:{seq}:{live[^1].CandidateId}", Ct), "the reply's log was not where it should be");

        var all = await ResumeAsync(user, chat.ChatId, seq, 0);
        var afterTwo = await ResumeAsync(user, chat.ChatId, seq, 2);
        var pastTheEnd = await ResumeAsync(user, chat.ChatId, seq, live.Count + 5);
        var huge = await ResumeAsync(user, chat.ChatId, seq, 1L << 40);

        Assert.Equal(
            [ReplyEvent.EventOneofCase.Accepted, ReplyEvent.EventOneofCase.Started, ReplyEvent.EventOneofCase.Delta, ReplyEvent.EventOneofCase.Completed],
            all.Select(e => e.EventCase));
        Assert.Equal(text, all[2].Delta.Text);
        Assert.Equal([3L, 4L], afterTwo.Select(e => e.Sequence));
        var final = Assert.Single(pastTheEnd);
        Assert.Equal((live.Count + 6L, text), (final.Sequence, final.Completed.Turn.Text));
        Assert.Equal((1L << 40) + 1, Assert.Single(huge).Sequence);
    }

    private async Task<List<ReplyEvent>> ResumeAsync(string user, string chatId, long seq, long after)
    {
        using var call = Fixture.Client(user).StreamReply(new StreamReplyRequest { ChatId = chatId, Seq = seq, AfterSequence = after }, cancellationToken: Ct);
        return await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
    }
}
