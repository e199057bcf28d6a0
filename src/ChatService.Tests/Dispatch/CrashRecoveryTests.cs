using ChatService.Api.V1;
using ChatService.Testing;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Dispatch;

/// <summary>The service process is SIGKILLed mid-generation; a new one finishes every owed reply once.</summary>
public sealed class CrashRecoveryTests(LocalStack stack) : IAsyncLifetime
{
    private const int Replies = 20;
    private readonly ProcessDatabase _database = new(stack, "k");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Dictionary<string, string> Settings(string replica) => _database.Settings(replica, new Dictionary<string, string>
    {
        ["Chat:ReplyLease"] = "00:00:03",
        ["Dispatch:SweepInterval"] = "00:00:00.500",
        // Slow enough that every reply is mid-generation when the process dies (about 8 s each, on a
        // loaded machine too: the sends go out together, after every chat exists).
        ["Inference:Backends:sim:Kind"] = "Simulated",
        ["Inference:Backends:sim:TimeToFirstToken"] = "00:00:00.100",
        ["Inference:Backends:sim:TokensPerSecond"] = "5",
        ["Inference:Backends:sim:MinTokens"] = "35",
        ["Inference:Backends:sim:MaxTokens"] = "45",
        ["Inference:Routes:default:0"] = "sim",
    });

    [Fact]
    public async Task KilledMidGeneration_RestartedServiceCompletesEveryReplyOnce()
    {
        var user = TestUsers.New();
        var chatIds = new List<string>();
        await using (var first = await ServiceProcess.StartAsync(Settings("replica-a"), Ct))
        {
            var client = first.Client(user);
            var character = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Ada", Persona = "A mathematician." }, cancellationToken: Ct);
            for (var i = 0; i < Replies; i++)
            {
                var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct);
                chatIds.Add(chat.ChatId);
            }

            var calls = chatIds.Select((chatId, i) =>
                client.SendMessage(new SendMessageRequest { ChatId = chatId, Text = $"message {i}", RequestId = $"r{i}" }, cancellationToken: Ct)).ToList();

            // Every reply has started streaming tokens when the process dies.
            foreach (var call in calls)
            {
                while (await call.ResponseStream.MoveNext(Ct) && call.ResponseStream.Current.EventCase != ReplyEvent.EventOneofCase.Delta)
                {
                }
            }

            await first.KillAsync();
            calls.ForEach(c => c.Dispose());
        }

        await using var database = SpannerDatabaseClient.Create(_database.SpannerOptions);
        // Every reply had streamed when the process died; on a loaded machine the first ones may have finished
        // before the last one's first token. Those still owed are what the new replica must finish, once each.
        var owedAtKill = await database.CountAsync("SELECT COUNT(*) FROM Candidates WHERE OwedShard IS NOT NULL AND LeaseOwner = 'replica-a'");
        Assert.True(owedAtKill > 0, "no reply was mid-generation when the process died: the test proves nothing");
        TestContext.Current.TestOutputHelper?.WriteLine($"{owedAtKill} of {Replies} replies owed at the kill");

        await using var second = await ServiceProcess.StartAsync(Settings("replica-b"), Ct);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await database.CountAsync("SELECT COUNT(*) FROM Candidates WHERE OwedShard IS NOT NULL") > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"replies still owed after 60 s:\n{second.Output}");
            await Task.Delay(250, Ct);
        }

        Assert.Equal(Replies, await database.CountAsync("SELECT COUNT(*) FROM Turns WHERE AuthorRole = 1"));
        Assert.Equal(Replies, await database.CountAsync("SELECT COUNT(*) FROM Turns WHERE AuthorRole = 2"));
        Assert.Equal(Replies, await database.CountAsync("SELECT COUNT(*) FROM Candidates WHERE State = 3 AND LENGTH(Text) > 0"));
        Assert.Equal(Replies, await database.CountAsync("SELECT COUNT(*) FROM ModelCalls WHERE Outcome = 'ok'"));
        Assert.Equal(Replies, await database.CountAsync("SELECT COUNT(DISTINCT CONCAT(ChatId, CAST(Seq AS STRING))) FROM ModelCalls WHERE Outcome = 'ok'"));
        foreach (var chatId in chatIds)
        {
            var history = await second.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);
            Assert.Equal([TurnState.Complete, TurnState.Complete], history.Turns.Select(t => t.State));
            Assert.Equal([AuthorRole.Character, AuthorRole.User], history.Turns.Select(t => t.Role));
        }
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _database.DisposeAsync();
    }
}
