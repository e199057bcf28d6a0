using ChatService.Api.V1;
using ChatService.Testing;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Dispatch;

/// <summary>Two service processes on one database and one Redis Cluster, as two replicas behind a load balancer.</summary>
public sealed class TwoReplicaTests(LocalStack stack) : IAsyncLifetime
{
    private readonly ProcessDatabase _database = new(stack, "r");
    private ServiceProcess _a = null!;
    private ServiceProcess _b = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Dictionary<string, string> Settings(string replica) => _database.Settings(replica, new Dictionary<string, string>
    {
        ["Inference:Backends:sim:Kind"] = "Simulated",
        ["Inference:Backends:sim:TimeToFirstToken"] = "00:00:00.050",
        ["Inference:Backends:sim:TokensPerSecond"] = "8",
        ["Inference:Backends:sim:MinTokens"] = "30",
        ["Inference:Backends:sim:MaxTokens"] = "30",
        ["Inference:Routes:default:0"] = "sim",
    });

    [Fact]
    public async Task CancelReply_OnTheOtherReplica_StopsGenerationAndKeepsThePartialText()
    {
        var (user, chatId) = await NewChatAsync();
        using var send = _a.Client(user).SendMessage(new SendMessageRequest { ChatId = chatId, Text = "a long story" }, cancellationToken: Ct);
        var deltas = await ReadDeltasAsync(send, 3);

        var cancelled = await _b.Client(user).CancelReplyAsync(new CancelReplyRequest { ChatId = chatId, Seq = send.ResponseStream.Current.Seq }, cancellationToken: Ct);

        Assert.Equal(TurnState.Cancelled, cancelled.State);
        Assert.StartsWith(string.Concat(deltas), cancelled.Text);
        var rest = await send.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        Assert.Equal("CANCELLED", rest[^1].Failed.Code);
        Assert.Equal(cancelled.Text, rest[^1].Failed.Turn.Text);
    }

    [Fact]
    public async Task RepeatedSend_OnTheOtherReplica_AttachesWithoutGeneratingAgain()
    {
        var (user, chatId) = await NewChatAsync();
        using var first = _a.Client(user).SendMessage(new SendMessageRequest { ChatId = chatId, Text = "once", RequestId = "same" }, cancellationToken: Ct);
        await ReadDeltasAsync(first, 1);

        using var again = _b.Client(user).SendMessage(new SendMessageRequest { ChatId = chatId, Text = "once", RequestId = "same" }, cancellationToken: Ct);
        var events = await again.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        var original = await first.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);

        Assert.True(events[0].Accepted.Duplicate);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        Assert.Equal(original[^1].Completed.Turn.Text, events[^1].Completed.Turn.Text);
        await using var database = SpannerDatabaseClient.Create(_database.SpannerOptions);
        var calls = await database.QueryListAsync(new SpannerStatement("SELECT COUNT(*) FROM ModelCalls WHERE ChatId = @c").Add("c", chatId), cancellationToken: Ct);
        Assert.Equal(1, calls[0].Get<long>(0));
    }

    [Fact]
    public async Task ContinueReply_FollowedAndCancelledOnTheOtherReplica_KeepsTheOldTextAndWhatWasAppended()
    {
        var (user, chatId) = await NewChatAsync();
        using (var send = _a.Client(user).SendMessage(new SendMessageRequest { ChatId = chatId, Text = "a long story" }, cancellationToken: Ct))
        {
            await send.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        }

        var reply = (await _a.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct)).Turns[0];
        using var continued = _a.Client(user).ContinueReply(new ContinueReplyRequest { ChatId = chatId, Seq = reply.Seq, RequestId = "more" }, cancellationToken: Ct);
        var appended = string.Concat(await ReadDeltasAsync(continued, 2));

        // The other replica follows the continuation live, from its own log, then stops it.
        using var follow = _b.Client(user).StreamReply(new StreamReplyRequest { ChatId = chatId, Seq = reply.Seq }, cancellationToken: Ct);
        var followed = new List<ReplyEvent>();
        while (followed.Count(e => e.EventCase == ReplyEvent.EventOneofCase.Delta) < 3 && await follow.ResponseStream.MoveNext(Ct))
        {
            followed.Add(follow.ResponseStream.Current);
        }

        var cancelled = await _b.Client(user).CancelReplyAsync(new CancelReplyRequest { ChatId = chatId, Seq = reply.Seq }, cancellationToken: Ct);
        followed.AddRange(await follow.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct));

        Assert.Equal((TurnState.Cancelled, reply.CandidateId, 1), (cancelled.State, cancelled.CandidateId, cancelled.Continuations));
        Assert.StartsWith(reply.Text + appended, cancelled.Text);
        Assert.True(followed[0].Accepted.Continuation);
        Assert.Equal(reply.Text, followed[0].Accepted.PendingTurns[0].Text);
        Assert.All(followed, e => Assert.True(e.Sequence > 1L << 40, $"event #{e.Sequence} is below the continuation's range"));
        Assert.Equal(("CANCELLED", cancelled.Text), (followed[^1].Failed.Code, followed[^1].Failed.Turn.Text));
        var restart = followed.FindLastIndex(e => e.EventCase == ReplyEvent.EventOneofCase.Restarted);
        Assert.Equal(cancelled.Text, reply.Text + string.Concat(followed.Skip(restart + 1).Where(e => e.EventCase == ReplyEvent.EventOneofCase.Delta).Select(e => e.Delta.Text)));
        var rest = await continued.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        Assert.Equal(("CANCELLED", cancelled.Text), (rest[^1].Failed.Code, rest[^1].Failed.Turn.Text));
    }

    private async Task<(string User, string ChatId)> NewChatAsync()
    {
        var user = TestUsers.New();
        var client = _a.Client(user);
        var character = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Ada", Persona = "A mathematician." }, cancellationToken: Ct);
        var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct);
        return (user, chat.ChatId);
    }

    private static async Task<List<string>> ReadDeltasAsync(AsyncServerStreamingCall<ReplyEvent> call, int count)
    {
        var deltas = new List<string>();
        while (deltas.Count < count && await call.ResponseStream.MoveNext(Ct))
        {
            if (call.ResponseStream.Current.EventCase == ReplyEvent.EventOneofCase.Delta)
            {
                deltas.Add(call.ResponseStream.Current.Delta.Text);
            }
        }

        return deltas;
    }

    public async ValueTask InitializeAsync()
    {
        _a = await ServiceProcess.StartAsync(Settings("replica-a"), Ct);
        _b = await ServiceProcess.StartAsync(Settings("replica-b"), Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _database.DisposeAsync();
    }
}
