using ChatService.Api.V1;
using ChatService.Testing;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Dispatch;

/// <summary>Graceful shutdown: stop taking work, finish what can finish within the bound, leave the rest owed.</summary>
public sealed class ShutdownTests(LocalStack stack) : IAsyncLifetime
{
    private readonly ProcessDatabase _database = new(stack, "g");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Dictionary<string, string> Settings(string grace, string tokensPerSecond) => _database.Settings("graceful-" + grace, new Dictionary<string, string>
    {
        ["Dispatch:ShutdownGrace"] = grace,
        ["Inference:Backends:sim:Kind"] = "Simulated",
        ["Inference:Backends:sim:TimeToFirstToken"] = "00:00:00.050",
        ["Inference:Backends:sim:TokensPerSecond"] = tokensPerSecond,
        ["Inference:Backends:sim:MinTokens"] = "20",
        ["Inference:Backends:sim:MaxTokens"] = "20",
        ["Inference:Routes:default:0"] = "sim",
    });

    [Fact]
    public async Task Shutdown_LetsRepliesInFlightFinishWithinTheGrace()
    {
        // 20 tokens at 40/s: about half a second, well inside a 5 s grace.
        await using var service = await ServiceProcess.StartAsync(Settings("00:00:05", "40"), Ct);
        var chatIds = await SendAndWaitForFirstTokenAsync(service, 4);

        await service.StopGracefullyAsync(TimeSpan.FromSeconds(20));

        await using var database = SpannerDatabaseClient.Create(_database.SpannerOptions);
        Assert.Equal(0, await database.CountAsync("SELECT COUNT(*) FROM Candidates WHERE OwedShard IS NOT NULL"));
        Assert.Equal(chatIds.Count, await database.CountAsync("SELECT COUNT(*) FROM Candidates WHERE State = 3"));
    }

    [Fact]
    public async Task Shutdown_LeavesRepliesThatCannotFinishOwed_WithTheLeaseReleased()
    {
        // 20 tokens at 2/s: ten seconds, far beyond a 300 ms grace.
        await using var service = await ServiceProcess.StartAsync(Settings("00:00:00.300", "2"), Ct);
        var chatIds = await SendAndWaitForFirstTokenAsync(service, 3);

        await service.StopGracefullyAsync(TimeSpan.FromSeconds(20));

        await using var database = SpannerDatabaseClient.Create(_database.SpannerOptions);
        Assert.Equal(chatIds.Count, await database.CountAsync("SELECT COUNT(*) FROM Candidates WHERE OwedShard IS NOT NULL AND State = 1"));
        // Released: recovery may take them at once instead of waiting for the lease to run out.
        Assert.Equal(chatIds.Count, await database.CountAsync("SELECT COUNT(*) FROM Candidates WHERE OwedShard IS NOT NULL AND LeaseUntil <= CURRENT_TIMESTAMP()"));
        Assert.Equal(0, await database.CountAsync("SELECT COUNT(*) FROM ModelCalls"));
    }

    private static async Task<List<string>> SendAndWaitForFirstTokenAsync(ServiceProcess service, int count)
    {
        var client = service.Client(TestUsers.New());
        var character = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Ada", Persona = "A mathematician." }, cancellationToken: Ct);
        var chatIds = new List<string>();
        var calls = new List<AsyncServerStreamingCall<ReplyEvent>>();
        for (var i = 0; i < count; i++)
        {
            var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct);
            chatIds.Add(chat.ChatId);
            calls.Add(client.SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = "hello" }, cancellationToken: Ct));
        }

        foreach (var call in calls)
        {
            while (await call.ResponseStream.MoveNext(Ct) && call.ResponseStream.Current.EventCase != ReplyEvent.EventOneofCase.Delta)
            {
            }
        }

        return chatIds;
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _database.DisposeAsync();
    }
}
