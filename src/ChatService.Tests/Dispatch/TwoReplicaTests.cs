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
