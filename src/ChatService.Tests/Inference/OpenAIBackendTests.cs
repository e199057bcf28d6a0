using ChatService.Chats;
using ChatService.Inference;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static ChatService.Tests.Inference.RouterTesting;

namespace ChatService.Tests.Inference;

/// <summary>
/// The OpenAI-compatible backend end to end: the real OpenAI SDK through Microsoft.Extensions.AI,
/// over HTTP, against a local server speaking the streaming chat completions protocol.
/// </summary>
public sealed class OpenAIBackendTests
{
    private const string Persona = "You are Captain Ruby, a cheerful pirate.";
    private const string UserText = "Where is the treasure?";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static BackendOptions OpenAI(FakeOpenAIServer server, string model = "test-model") => new()
    {
        Kind = BackendKind.OpenAI,
        BaseUrl = server.BaseUrl.ToString(),
        Model = model,
        MaxConcurrency = 4,
        FirstTokenTimeout = TimeSpan.FromSeconds(10),
        TotalTimeout = TimeSpan.FromSeconds(30),
    };

    private static ModelRouter Router(int retries, params (string Name, BackendOptions Options)[] backends)
    {
        var options = new InferenceOptions { RetriesBeforeFirstToken = retries, RetryDelay = TimeSpan.FromMilliseconds(10) };
        foreach (var (name, backend) in backends)
        {
            options.Backends[name] = backend;
        }

        options.Routes[Route] = [.. backends.Select(b => b.Name)];
        return new ModelRouter(Options.Create(options), TimeProvider.System, NullLogger<ModelRouter>.Instance);
    }

    private static GenerationRequest Request() =>
        new(Route, [new ChatMessage(ChatRole.System, Persona), new ChatMessage(ChatRole.User, UserText)], MaxOutputTokens: 100);

    private static async Task<List<GenerationEvent>> CollectAsync(ModelRouter router)
    {
        var events = new List<GenerationEvent>();
        await foreach (var e in router.GenerateAsync(Request(), Ct))
        {
            events.Add(e);
        }

        return events;
    }

    [Fact]
    public async Task StreamsTheReply_PromptReachesServer_CallLoggedWithUsage()
    {
        await using var server = await FakeOpenAIServer.StartAsync(Ct);
        using var router = Router(retries: 1, ("local-llm", OpenAI(server)));

        var events = await CollectAsync(router);

        AssertWellFormed(events);
        Assert.Equal(server.ReplyChunks, events.OfType<TextDelta>().Select(d => d.Text));
        Assert.Equal("Ahoy, matey! The treasure is under the palm.", Text(events));
        var call = Assert.Single(Calls(events));
        Assert.Equal(("local-llm", "test-model", "ok", (string?)null), (call.Backend, call.Model, call.Outcome, call.Error));
        Assert.Equal((42, 5), (call.PromptTokens, call.CompletionTokens));
        Assert.NotNull(call.FirstTokenAt);
        Assert.True(Finished(events).Succeeded);

        var request = Assert.Single(server.Requests);
        Assert.Equal("test-model", request["model"]!.GetValue<string>());
        Assert.True(request["stream"]!.GetValue<bool>());
        Assert.Equal([("system", Persona), ("user", UserText)], server.Messages(0));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OutputLimit_SentAsMaxCompletionTokens_AndAsLegacyMaxTokensUnlessTurnedOff(bool sendLegacy)
    {
        await using var server = await FakeOpenAIServer.StartAsync(Ct);
        var backend = OpenAI(server);
        backend.SendLegacyMaxTokens = sendLegacy;
        using var router = Router(retries: 0, ("local-llm", backend));

        await CollectAsync(router);

        var request = Assert.Single(server.Requests);
        Assert.Equal(100, request["max_completion_tokens"]!.GetValue<int>());
        Assert.Equal(sendLegacy ? 100 : null, request["max_tokens"]?.GetValue<int>());
    }

    [Fact]
    public async Task ServerSendsNoUsage_TokensAreEstimated()
    {
        await using var server = await FakeOpenAIServer.StartAsync(Ct);
        server.SendUsage = false;
        using var router = Router(retries: 0, ("local-llm", OpenAI(server)));

        var events = await CollectAsync(router);

        var call = Assert.Single(Calls(events));
        Assert.Equal("ok", call.Outcome);
        Assert.Equal((Persona.Length + UserText.Length + 3) / 4, call.PromptTokens);
        Assert.Equal((Text(events).Length + 3) / 4, call.CompletionTokens);
    }

    [Fact]
    public async Task Http500_RetriedOnce_ThenFallsBackToSecondBackend()
    {
        await using var broken = await FakeOpenAIServer.StartAsync(Ct);
        await using var healthy = await FakeOpenAIServer.StartAsync(Ct);
        broken.FailWithStatus = 500;
        healthy.ReplyChunks = ["Fallback ", "reply."];
        using var router = Router(retries: 1, ("primary", OpenAI(broken, "big-model")), ("secondary", OpenAI(healthy, "small-model")));

        var events = await CollectAsync(router);

        AssertWellFormed(events);
        var calls = Calls(events);
        Assert.Equal(
            [("primary", "big-model", "error"), ("primary", "big-model", "error"), ("secondary", "small-model", "ok")],
            calls.Select(c => (c.Backend, c.Model, c.Outcome)));
        Assert.All(calls.Take(2), c => Assert.Contains("500", c.Error));
        // One request per attempt: the SDK's own retries are off, the router decides.
        Assert.Equal(2, broken.Requests.Count);
        Assert.Equal("Fallback reply.", Text(events));
        Assert.True(Finished(events).Succeeded);
    }

    [Fact]
    public async Task Http400_NotRetriedOnTheSameBackend_ButFallsBack()
    {
        await using var refusing = await FakeOpenAIServer.StartAsync(Ct);
        await using var healthy = await FakeOpenAIServer.StartAsync(Ct);
        refusing.FailWithStatus = 400;
        using var router = Router(retries: 2, ("refusing", OpenAI(refusing)), ("healthy", OpenAI(healthy)));

        var events = await CollectAsync(router);

        Assert.Equal([("refusing", "error"), ("healthy", "ok")], Calls(events).Select(c => (c.Backend, c.Outcome)));
        Assert.Single(refusing.Requests);
    }

    [Fact]
    public async Task AllServersFail_BackendUnavailable()
    {
        await using var broken = await FakeOpenAIServer.StartAsync(Ct);
        broken.FailWithStatus = 503;
        using var router = Router(retries: 1, ("only", OpenAI(broken)));

        var events = await CollectAsync(router);

        Assert.Equal(2, Calls(events).Count);
        var finished = Finished(events);
        Assert.Equal(ReplyFailureCode.BackendUnavailable, finished.FailureCode);
        Assert.Contains("503", finished.FailureReason);
    }

    [Fact]
    public async Task ConnectionDroppedMidStream_Interrupted_WithThePartialText()
    {
        await using var server = await FakeOpenAIServer.StartAsync(Ct);
        await using var spare = await FakeOpenAIServer.StartAsync(Ct);
        server.AbortAfterChunks = 2;
        using var router = Router(retries: 1, ("dropping", OpenAI(server)), ("spare", OpenAI(spare)));

        var events = await CollectAsync(router);

        AssertWellFormed(events);
        Assert.Equal("Ahoy, matey", Text(events));
        var call = Assert.Single(Calls(events));
        Assert.Equal("error", call.Outcome);
        Assert.Equal(ReplyFailureCode.Interrupted, Finished(events).FailureCode);
        Assert.Empty(spare.Requests);
    }

    [Fact]
    public async Task ServerSlowerThanFirstTokenTimeout_FallsBack()
    {
        await using var slow = await FakeOpenAIServer.StartAsync(Ct);
        await using var fast = await FakeOpenAIServer.StartAsync(Ct);
        slow.DelayBeforeFirstChunk = TimeSpan.FromSeconds(30);
        var slowOptions = OpenAI(slow);
        slowOptions.FirstTokenTimeout = TimeSpan.FromMilliseconds(300);
        using var router = Router(retries: 0, ("slow", slowOptions), ("fast", OpenAI(fast)));

        var events = await CollectAsync(router);

        Assert.Equal([("slow", "first_token_timeout"), ("fast", "ok")], Calls(events).Select(c => (c.Backend, c.Outcome)));
        Assert.True(Finished(events).Succeeded);
    }
}
