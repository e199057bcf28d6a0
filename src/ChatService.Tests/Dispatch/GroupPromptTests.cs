using Grpc.Core;
using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Inference;
using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ChatService.Tests.Dispatch;

/// <summary>The service with its "llm" route on a local OpenAI-compatible server that records every prompt.</summary>
public sealed class OpenAIBackedFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public FakeOpenAIServer Server { get; private set; } = null!;

    /// <summary>The reads of the service's reply logs (the log itself is the real one, in the Redis Cluster).</summary>
    public ReplyLogReads LogReads { get; } = new();

    protected override void ConfigureServices(IServiceCollection services)
    {
        var original = services.Last(d => d.ServiceType == typeof(ChatService.Dispatch.IReplyLog));
        services.AddSingleton(sp => LogReads.Wrap((ChatService.Dispatch.IReplyLog)ActivatorUtilities.CreateInstance(sp, original.ImplementationType!)));
    }

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Inference:Backends:llm:Kind"] = "OpenAI",
        ["Inference:Backends:llm:BaseUrl"] = Server.BaseUrl.ToString(),
        ["Inference:Backends:llm:Model"] = "test-model",
        ["Inference:Routes:llm:0"] = "llm",
        // Continuations (ContinueReply) ask the server to go on with the final assistant message, as vLLM needs.
        ["Inference:Backends:llm:ContinuePrefill"] = "ContinueFinalMessage",
        // The tests read the requests the server received; a summary job's would come between them.
        ["Summary:Enabled"] = "false",
    };

    public override async ValueTask InitializeAsync()
    {
        Server = await FakeOpenAIServer.StartAsync(CancellationToken.None);
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Server.DisposeAsync();
    }
}

public sealed class GroupPromptTests(OpenAIBackedFixture fixture) : ApiTestBase(fixture), IClassFixture<OpenAIBackedFixture>
{
    [Fact]
    public async Task GroupChat_LaterSpeakersSeeEarlierReplies_ThroughARealOpenAICompatibleServer()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var ada = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Ada", Persona = "Ada loves primes.", ModelRoute = "llm" }, cancellationToken: Ct);
        var bob = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Bob", Persona = "Bob loves pirates.", ModelRoute = "llm" }, cancellationToken: Ct);
        var chat = await CreateChatAsync(user, ada, bob);
        var before = fixture.Server.Requests.Count;

        var events = await SendAsync(user, chat.ChatId, "Both of you: where is the treasure?", "", ada.CharacterId, bob.CharacterId);

        var completed = events.Where(e => e.EventCase == ReplyEvent.EventOneofCase.Completed).Select(e => e.Completed.Turn).ToList();
        Assert.Equal([ada.CharacterId, bob.CharacterId], completed.Select(t => t.CharacterId));
        Assert.All(completed, t => Assert.Equal("Ahoy, matey! The treasure is under the palm.", t.Text));
        Assert.Equal(before + 2, fixture.Server.Requests.Count);

        var adaPrompt = fixture.Server.Messages(before);
        var bobPrompt = fixture.Server.Messages(before + 1);
        // Each speaker's own definition, after the service's system prompt naming it.
        Assert.Equal(("system", "You are Ada. Write Ada's next reply in this fictional chat with User: stay in character, and never speak for User.\n\nAda loves primes."), adaPrompt[0]);
        Assert.Equal(("user", "Both of you: where is the treasure?"), adaPrompt[^1]);
        Assert.Equal(("system", "You are Bob. Write Bob's next reply in this fictional chat with User: stay in character, and never speak for User.\n\nBob loves pirates."), bobPrompt[0]);
        // Bob answers second and sees Ada's reply, attributed to her.
        Assert.Equal(("user", "Ada: Ahoy, matey! The treasure is under the palm."), bobPrompt[^1]);
        Assert.Contains(("user", "Both of you: where is the treasure?"), bobPrompt);
        Assert.Equal("test-model", fixture.Server.Requests[before]["model"]!.GetValue<string>());
        Assert.Equal(2, await Fixture.CountAsync(
            "SELECT COUNT(*) FROM ModelCalls WHERE ChatId = @c AND Backend = 'llm' AND Model = 'test-model' AND Outcome = 'ok' AND PromptTokens = 42 AND CompletionTokens = 5",
            ("c", chat.ChatId)));
    }

    [Fact]
    public async Task AFreshReplyWhosePromptEndsWithTheSpeakersOwnTurn_IsNotSentAsAContinuation()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var ada = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Ada", Persona = "Ada loves primes.", ModelRoute = "llm", Talkativeness = 1 }, cancellationToken: Ct);
        var bob = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Bob", Persona = "Bob loves pirates.", ModelRoute = "llm", Talkativeness = 0 }, cancellationToken: Ct);
        var chat = await CreateChatAsync(user, ada, bob);
        chat.SpeakerStrategy = SpeakerStrategy.Natural;
        await client.UpdateChatAsync(new UpdateChatRequest { Chat = chat, UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "speaker_strategy" } } }, cancellationToken: Ct);
        await SendAsync(user, chat.ChatId, "Tell me about primes.", "", ada.CharacterId);
        var before = fixture.Server.Requests.Count;

        // NATURAL with Bob never talkative: ContinueChat picks Ada again, right after her own turn.
        using (var call = client.ContinueChat(new ContinueChatRequest { ChatId = chat.ChatId, Turns = 1, RequestId = "again" }, cancellationToken: Ct))
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync(Ct))
            {
            }
        }

        Assert.Equal(before + 1, fixture.Server.Requests.Count);
        // The prompt ends with an assistant message (Ada's own earlier reply), yet this is a new reply:
        // the backend's ContinueFinalMessage prefill must not be asked for.
        Assert.Equal("assistant", fixture.Server.Messages(before)[^1].Role);
        Assert.False(fixture.Server.Requests[before].ContainsKey("continue_final_message"));
        Assert.False(fixture.Server.Requests[before].ContainsKey("add_generation_prompt"));
    }
}
