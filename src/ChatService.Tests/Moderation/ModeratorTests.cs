using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ChatService.Chats;
using ChatService.Dispatch;
using ChatService.Inference;
using ChatService.Moderation;

namespace ChatService.Tests.Moderation;

/// <summary>The moderators on their own: the simulated one's rules, and the OpenAI-compatible one's request and response handling.</summary>
public sealed class ModeratorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Simulated_FlagsConfiguredTerms_IgnoringCase_WithTheCategoryOfTheFirstOneInTheText()
    {
        var moderator = new SimulatedModerator(new SimulatedModeratorOptions
        {
            FlaggedTerms = new() { ["violence"] = ["stab"], ["harassment"] = ["idiot", "moron"] },
        });

        Assert.Equal(ModerationVerdict.Clean, await moderator.CheckAsync("a calm text", ModerationTarget.Reply, Ct));
        Assert.Equal(ModerationVerdict.FlaggedAs("violence"), await moderator.CheckAsync("I will STAB", ModerationTarget.Reply, Ct));
        Assert.Equal(ModerationVerdict.FlaggedAs("harassment"), await moderator.CheckAsync("you moron, I will stab", ModerationTarget.UserMessage, Ct));
        Assert.Equal(ModerationVerdict.FlaggedAs("violence"), await moderator.CheckAsync("stab, idiot", ModerationTarget.UserMessage, Ct));
    }

    [Fact]
    public async Task Simulated_WithoutTerms_FlagsItsMarker_AndFailsOnItsOutageMarker()
    {
        var moderator = new SimulatedModerator(new SimulatedModeratorOptions());

        Assert.Equal(ModerationVerdict.FlaggedAs("violence"), await moderator.CheckAsync("text [MOD:FLAG] text", ModerationTarget.Reply, Ct));
        await Assert.ThrowsAsync<ModerationUnavailableException>(() => moderator.CheckAsync("x [mod:outage]", ModerationTarget.Reply, Ct));
    }

    [Fact]
    public async Task OpenAI_PostsModelAndInput_WithTheKey_AndTakesTheHighestScoringFlaggedCategory()
    {
        var handler = new ScriptedHandler(HttpStatusCode.OK,
            """
            {"id":"modr-1","model":"omni-moderation-latest","results":[{"flagged":true,
              "categories":{"harassment":true,"violence":true,"sexual":false},
              "category_scores":{"harassment":0.61,"violence":0.93,"sexual":0.99}}]}
            """);
        var moderator = new OpenAIModerator(new HttpClient(handler), new OpenAIModeratorOptions
        {
            BaseUrl = "https://moderation.example.com/v1/", ApiKey = "sk-test", Model = "omni-moderation-latest",
        });

        var verdict = await moderator.CheckAsync("some text", ModerationTarget.Reply, Ct);

        // Sexual scored highest but was not flagged: the category is the top flagged one.
        Assert.Equal(ModerationVerdict.FlaggedAs("violence"), verdict);
        Assert.Equal(HttpMethod.Post, handler.Method);
        Assert.Equal("https://moderation.example.com/v1/moderations", handler.Uri?.ToString());
        Assert.Equal("Bearer sk-test", handler.Authorization);
        var body = JsonNode.Parse(handler.Body!)!.AsObject();
        Assert.Equal("omni-moderation-latest", body["model"]!.GetValue<string>());
        Assert.Equal("some text", body["input"]!.GetValue<string>());
    }

    [Fact]
    public async Task OpenAI_NotFlagged_IsClean_AndNoKeySendsNoAuthorization()
    {
        var handler = new ScriptedHandler(HttpStatusCode.OK,
            """{"results":[{"flagged":false,"categories":{"violence":false},"category_scores":{"violence":0.01}}]}""");
        var moderator = new OpenAIModerator(new HttpClient(handler), new OpenAIModeratorOptions { BaseUrl = "http://localhost:9/v1" });

        Assert.Equal(ModerationVerdict.Clean, await moderator.CheckAsync("hello", ModerationTarget.UserMessage, Ct));
        Assert.Null(handler.Authorization);
    }

    [Theory]
    [InlineData(500, """{"error":{"message":"boom"}}""")]
    [InlineData(429, """{"error":{"message":"slow down"}}""")]
    [InlineData(200, """{"results":[]}""")]
    [InlineData(200, """{"id":"x"}""")]
    [InlineData(200, """not json""")]
    public async Task OpenAI_AnythingButAWellFormedAnswer_IsAnOutage_NeverAVerdict(int status, string body)
    {
        var moderator = new OpenAIModerator(new HttpClient(new ScriptedHandler((HttpStatusCode)status, body)), new OpenAIModeratorOptions { BaseUrl = "http://localhost:9/v1" });

        await Assert.ThrowsAsync<ModerationUnavailableException>(() => moderator.CheckAsync("hello", ModerationTarget.Reply, Ct));
    }

    [Fact]
    public async Task OpenAI_AnUnreachableEndpoint_IsAnOutage()
    {
        var moderator = new OpenAIModerator(new HttpClient(new ScriptedHandler(new HttpRequestException("connection refused"))), new OpenAIModeratorOptions { BaseUrl = "http://localhost:9/v1" });

        await Assert.ThrowsAsync<ModerationUnavailableException>(() => moderator.CheckAsync("hello", ModerationTarget.Reply, Ct));
    }

    [Fact]
    public void Options_AreValidated_WithMessagesNamingTheSetting()
    {
        var validator = new ModerationOptionsValidator();
        Assert.True(validator.Validate(null, new ModerationOptions()).Succeeded);
        Assert.True(validator.Validate(null, new ModerationOptions { Moderator = ModeratorKind.Simulated }).Succeeded);

        var noUrl = validator.Validate(null, new ModerationOptions { Moderator = ModeratorKind.OpenAI });
        Assert.Contains("Moderation:OpenAI:BaseUrl", noUrl.FailureMessage, StringComparison.Ordinal);
        var badTimeout = validator.Validate(null, new ModerationOptions { Timeout = TimeSpan.Zero });
        Assert.Contains("Moderation:Timeout", badTimeout.FailureMessage, StringComparison.Ordinal);
        var emptyTerms = validator.Validate(null, new ModerationOptions
        {
            Moderator = ModeratorKind.Simulated,
            Simulated = new SimulatedModeratorOptions { FlaggedTerms = new() { ["violence"] = [] } },
        });
        Assert.Contains("Moderation:Simulated:FlaggedTerms:violence", emptyTerms.FailureMessage, StringComparison.Ordinal);
        Assert.False(validator.Validate(null, new ModerationOptions { OnOutage = (ModerationOutagePolicy)7 }).Succeeded);
    }

    [Fact]
    public void ACategoryIsStoredPrintable_Bounded_AndNeverEmpty()
    {
        Assert.Equal("violence/graphic", ModerationGate.CategoryName(" violence/graphic\n"));
        Assert.Equal("unspecified", ModerationGate.CategoryName("\u0001 "));
        Assert.Equal(ModerationGate.MaxCategoryLength, ModerationGate.CategoryName(new string('x', 500)).Length);
    }

    [Fact]
    public void AFilteredTurn_NeverEntersAPrompt_EvenWithTextAWindowMightCarry()
    {
        var ada = new Character("ada", "u", "Ada", "Ada tells stories.", "Hello.", "default", CharacterVisibility.Private, DateTimeOffset.UnixEpoch);
        ChatTurn Turn(long seq, AuthorRole role, string text, ReplyState state) =>
            new("c", seq, role, role == AuthorRole.Character ? "ada" : null, text, state, role == AuthorRole.Character ? $"cand{seq}" : null, 1, DateTimeOffset.UnixEpoch, null, seq - 1);
        var window = new List<ChatTurn>
        {
            Turn(1, AuthorRole.Character, "Hello.", ReplyState.Complete),
            Turn(2, AuthorRole.User, "Tell me.", ReplyState.Complete),
            Turn(3, AuthorRole.Character, "LEAKED withheld text", ReplyState.Filtered),
            Turn(4, AuthorRole.User, "Go on.", ReplyState.Complete),
        };
        var context = new ReplyContext("u", ada, new Dictionary<string, Character> { ["ada"] = ada }, window, Turn(5, AuthorRole.Character, "", ReplyState.Pending), null)
        {
            Pinned = [window[2]],
        };

        var prompt = ReplyPrompt.Build(context, new DispatchOptions(), new RoutePromptBudget(PromptTokenizer.Estimate, 8192, 512));

        Assert.DoesNotContain(prompt.Messages, m => m.Text.Contains("LEAKED", StringComparison.Ordinal));
        Assert.Equal(["Hello.", "Tell me.", "Go on."], prompt.Messages.Skip(1).Select(m => m.Text));
    }

    [Fact]
    public void AFilteredReply_ReplayedFromStorage_EndsFiltered_WithNoText()
    {
        var filtered = new ChatTurn("c", 3, AuthorRole.Character, "ada", "", ReplyState.Filtered, "cand", 1, DateTimeOffset.UnixEpoch,
            "withheld by moderation (category: violence)", 2);

        // Nothing seen yet (the log expired): the replay of a stored reply.
        var replay = new ReplyStream(new ReplyKey("c", 3, "cand"));
        StoredEnding.Finish(replay, filtered);
        var events = replay.Snapshot(0);
        Assert.Equal([ReplyUpdateKind.Accepted, ReplyUpdateKind.Started, ReplyUpdateKind.Failed], events.Select(e => e.Kind));
        Assert.Equal((ReplyFailureCode.Filtered, ReplyState.Filtered), (events[^1].FailureCode, events[^1].Turn!.State));
        Assert.Equal("FILTERED", ReplyFailureCodes.Name(events[^1].FailureCode));

        // A follower that saw text streamed (settled elsewhere): told to drop it before the end.
        var follower = new ReplyStream(new ReplyKey("c", 3, "cand"));
        follower.Publish(ReplyUpdateKind.Accepted);
        follower.Publish(ReplyUpdateKind.Started);
        follower.Publish(ReplyUpdateKind.Delta, text: "some flagged words");
        StoredEnding.Finish(follower, filtered);
        var ending = follower.Snapshot(0).Skip(3).ToList();
        Assert.Equal([ReplyUpdateKind.Restarted, ReplyUpdateKind.Failed], ending.Select(e => e.Kind));
        Assert.Equal("", StoredEnding.ShownText(follower.Snapshot(0)));
    }

    [Fact]
    public async Task OpenAI_AnAnswerOverTheBound_IsAnOutage_NotBufferedWhole()
    {
        var padded = "{\"results\":[{\"flagged\":false}]" + new string(' ', OpenAIModerator.MaxResponseBytes) + "}";
        var moderator = new OpenAIModerator(new HttpClient(new ScriptedHandler(HttpStatusCode.OK, padded)), new OpenAIModeratorOptions { BaseUrl = "http://localhost:9/v1" });

        var outage = await Assert.ThrowsAsync<ModerationUnavailableException>(() => moderator.CheckAsync("text", ModerationTarget.Reply, Ct));
        Assert.Contains("bytes", outage.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HttpStatusCode.BadRequest, true)]
    [InlineData(HttpStatusCode.Unauthorized, true)]
    [InlineData(HttpStatusCode.RequestTimeout, false)]
    [InlineData(HttpStatusCode.TooManyRequests, false)]
    [InlineData(HttpStatusCode.BadGateway, false)]
    public async Task OpenAI_A4xxOtherThan408Or429_IsAnOutageMarkedAsMisconfiguration(HttpStatusCode status, bool misconfigured)
    {
        var moderator = new OpenAIModerator(new HttpClient(new ScriptedHandler(status, "{}")), new OpenAIModeratorOptions { BaseUrl = "http://localhost:9/v1" });

        var outage = await Assert.ThrowsAsync<ModerationUnavailableException>(() => moderator.CheckAsync("text", ModerationTarget.Reply, Ct));
        Assert.Equal(misconfigured, outage.Misconfigured);
    }

    /// <summary>Answers every request with one scripted response (or failure) and records the request.</summary>
    private sealed class ScriptedHandler : HttpMessageHandler
    {
        private readonly HttpStatusCode _status;
        private readonly string _body = "";
        private readonly Exception? _failure;

        public ScriptedHandler(HttpStatusCode status, string body) => (_status, _body) = (status, body);

        public ScriptedHandler(Exception failure) => _failure = failure;

        public HttpMethod? Method { get; private set; }

        public Uri? Uri { get; private set; }

        public string? Authorization { get; private set; }

        public string? Body { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Method = request.Method;
            Uri = request.RequestUri;
            Authorization = request.Headers.Authorization?.ToString();
            Body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
            if (_failure is not null)
            {
                throw _failure;
            }

            return new HttpResponseMessage(_status) { Content = new StringContent(_body, Encoding.UTF8, "application/json") };
        }
    }
}
