using ChatService.Api.V1;
using ChatService.Tests.Inference;
using ChatService.Tests.Infrastructure;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// Two replicas on one database and the shared Redis Cluster, their "llm" route on an
/// OpenAI-compatible server that records every prompt: a character updated on one replica is what
/// the other's next reply uses, although that replica had the old version in memory and the chat's
/// window in Redis.
/// </summary>
public sealed class CharacterVersionReplicaTests(LocalStack stack) : IAsyncLifetime
{
    private readonly ProcessDatabase _database = new(stack, "v");
    private FakeOpenAIServer _server = null!;
    private InProcessReplica? _a;
    private InProcessReplica? _b;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _server = await FakeOpenAIServer.StartAsync(Ct);
        // One after the other: the first creates the database's schema.
        _a = InProcessReplica.Start("A", Settings("a"));
        _b = InProcessReplica.Start("B", Settings("b"));
    }

    public async ValueTask DisposeAsync()
    {
        if (_a is not null)
        {
            await _a.DisposeAsync();
        }

        if (_b is not null)
        {
            await _b.DisposeAsync();
        }

        await _server.DisposeAsync();
        await _database.DisposeAsync();
    }

    private Dictionary<string, string> Settings(string replica) => _database.Settings(replica + "-" + _database.DatabaseId, new Dictionary<string, string>(ChatServiceFixture.FastSimulatedBackend)
    {
        ["Inference:Backends:llm:Kind"] = "OpenAI",
        ["Inference:Backends:llm:BaseUrl"] = _server.BaseUrl.ToString(),
        ["Inference:Backends:llm:Model"] = "test-model",
        ["Inference:Routes:llm:0"] = "llm",
    });

    [Fact]
    public async Task UpdateCharacter_OnOneReplica_IsWhatTheOthersNextReplyUses()
    {
        var user = TestUsers.New();
        var ruby = await _a!.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ruby", Persona = "A pirate.", Scenario = "At sea.", ModelRoute = "llm" }, cancellationToken: Ct);
        var chat = await _a.Client(user).CreateChatAsync(new CreateChatRequest { CharacterIds = { ruby.CharacterId } }, cancellationToken: Ct);
        // B generates a reply: it now holds version 1 in memory, and the chat's window is in Redis.
        var first = await PromptOnBAsync(user, chat.ChatId, "Hello");

        var updated = await _a.Client(user).UpdateCharacterAsync(new UpdateCharacterRequest
        {
            Character = new Character { CharacterId = ruby.CharacterId, Version = 1, Scenario = "In port." },
            UpdateMask = new FieldMask { Paths = { "scenario" } },
        }, cancellationToken: Ct);
        var second = await PromptOnBAsync(user, chat.ChatId, "And now?");

        Assert.EndsWith("Scenario: At sea.", first[0].Content);
        Assert.EndsWith("Scenario: In port.", second[0].Content);
        Assert.Equal(updated, await _b!.Client(user).GetCharacterAsync(new GetCharacterRequest { CharacterId = ruby.CharacterId }, cancellationToken: Ct));

        // A deletion on A is seen by B at once too: no new chat with it there.
        await _a.Client(user).DeleteCharacterAsync(new DeleteCharacterRequest { CharacterId = ruby.CharacterId }, cancellationToken: Ct);
        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            _b.Client(user).CreateChatAsync(new CreateChatRequest { CharacterIds = { ruby.CharacterId } }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, refused.StatusCode);
    }

    private async Task<List<(string Role, string Content)>> PromptOnBAsync(string user, string chatId, string text)
    {
        var before = _server.Requests.Count;
        using var call = _b!.Client(user).SendMessage(new SendMessageRequest { ChatId = chatId, Text = text }, cancellationToken: Ct);
        var events = await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        return _server.Messages(before);
    }
}
