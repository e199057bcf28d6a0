using ChatService.Api.V1;
using ChatService.Inference;
using ChatService.Tests.Api;
using ChatService.Tests.Inference;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// The "llm" route on a recording OpenAI-compatible server with a small context (1024 tokens, 512 kept
/// for the reply), a window of 100 turns so the budget, not the window, decides, and an admin.
/// </summary>
public sealed class BudgetedOpenAIFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public const int Budget = 1024 - 512;

    public const string Admin = "prompt-admin";

    public FakeOpenAIServer Server { get; private set; } = null!;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Inference:Backends:llm:Kind"] = "OpenAI",
        ["Inference:Backends:llm:BaseUrl"] = Server.BaseUrl.ToString(),
        ["Inference:Backends:llm:Model"] = "test-model",
        ["Inference:Backends:llm:Tokenizer"] = "o200k_base",
        ["Inference:Routes:llm:0"] = "llm",
        ["Inference:RouteBudgets:llm:ContextTokens"] = "1024",
        ["Inference:RouteBudgets:llm:ReplyReserveTokens"] = "512",
        ["Dispatch:PromptWindowTurns"] = "100",
        ["Dispatch:HistoryBudgetTokens"] = "100000",
        ["Auth:AdminUserIds:0"] = Admin,
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

/// <summary>
/// Token budgets end to end: what the OpenAI-compatible server receives for a long chat is within the
/// route's budget by its tokenizer, in the documented order, with the newest user turn; and the prompt
/// stored with the reply (GetReplyPrompt) is exactly what was sent, readable by the owner and an admin only.
/// </summary>
public sealed class PromptBudgetTests(BudgetedOpenAIFixture fixture) : ApiTestBase(fixture), IClassFixture<BudgetedOpenAIFixture>
{
    private static readonly PromptTokenizer O200k = PromptTokenizer.For("o200k_base");

    private static int Tokens(List<(string Role, string Content)> prompt) =>
        prompt.Sum(m => O200k.Count(m.Content) + PromptTokenizer.MessageOverhead) + PromptTokenizer.MessageOverhead;

    [Fact]
    public async Task AFiveHundredTurnChat_SendsAtMostTheBudget_DefinitionPinsNewestTurnsInOrder_AndTheNewestUserTurn()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var ruby = await client.CreateCharacterAsync(new CreateCharacterRequest
        {
            DisplayName = "Ruby", Persona = "{{char}} is a pirate captain.", ModelRoute = "llm",
            Scenario = "At sea with {{user}}.", PostHistoryInstructions = "Stay in character.",
        }, cancellationToken: Ct);
        var chat = await CreateChatAsync(user, ruby);

        // 250 exchanges: 500 turns.
        for (var i = 1; i <= 250; i++)
        {
            var events = await SendAsync(user, chat.ChatId, $"Message {i}: how far to the island of number {i * 7}?");
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
            if (i == 2)
            {
                await client.PinTurnAsync(new PinTurnRequest { ChatId = chat.ChatId, Seq = events[0].Accepted.UserTurn.Seq }, cancellationToken: Ct);
            }
        }

        var before = fixture.Server.Requests.Count;
        var last = await SendAsync(user, chat.ChatId, "The newest question: where is the treasure?");
        var prompt = fixture.Server.Messages(before);

        Assert.True(Tokens(prompt) <= BudgetedOpenAIFixture.Budget, $"{Tokens(prompt)} tokens sent, budget {BudgetedOpenAIFixture.Budget}");
        Assert.StartsWith("You are Ruby.", prompt[0].Content, StringComparison.Ordinal);
        // The recent turns' ceiling is far above the route's budget here, so they fill it, and the post-history
        // instructions, the lowest priority, are what gives way (as documented: give the turns a ceiling to keep them).
        Assert.Equal(("user", "The newest question: where is the treasure?"), prompt[^1]);
        Assert.DoesNotContain(("system", "Stay in character."), prompt);
        Assert.Equal(("user", "Message 2: how far to the island of number 14?"), prompt[1]);
        // The rest are the newest turns, contiguous: the server's replies and the user's numbered messages, counting down.
        var recent = prompt.Skip(2).SkipLast(1).ToList();
        Assert.InRange(recent.Count, 4, 60);
        var numbers = recent.Where(m => m.Role == "user").Select(m => int.Parse(m.Content.Split(':')[0]["Message ".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(251 - numbers.Count, numbers.Count), numbers);
        Assert.All(recent.Where(m => m.Role == "assistant"), m => Assert.Equal("Ahoy, matey! The treasure is under the palm.", m.Content));

        // The stored prompt is what was sent, with its counts.
        var reply = last.Single(e => e.EventCase == ReplyEvent.EventOneofCase.Completed).Completed.Turn;
        var stored = await client.GetReplyPromptAsync(new GetReplyPromptRequest { ChatId = chat.ChatId, Seq = reply.Seq }, cancellationToken: Ct);
        Assert.Equal(prompt, stored.Messages.Select(m => (m.Role, m.Content)));
        Assert.Equal(reply.CandidateId, stored.CandidateId);
        Assert.Equal("o200k_base", stored.Tokenizer);
        Assert.Equal(BudgetedOpenAIFixture.Budget, stored.BudgetTokens);
        Assert.Equal(Tokens(prompt), stored.TotalTokens);
        Assert.Equal(AssembledPrompt.SectionNames, stored.Sections.Select(s => s.Section));
        Assert.Equal(stored.TotalTokens, stored.Sections.Sum(s => s.Tokens) + PromptTokenizer.MessageOverhead);
        Assert.True(stored.Sections.Single(s => s.Section == "pins").Tokens > 0);
        Assert.False(stored.MessagesOmitted);

        // The model-call log has the same counts, not the text.
        var sections = (await fixture.Database.QueryListAsync(new global::Spanner.Client.SpannerStatement(
            "SELECT PromptSections FROM ModelCalls WHERE ChatId = @chatId AND Seq = @seq").Add("chatId", chat.ChatId).Add("seq", reply.Seq), cancellationToken: Ct))
            .Select(r => r.Get<string>(0)).Single();
        Assert.Contains($"\"total\":{stored.TotalTokens}", sections, StringComparison.Ordinal);
        Assert.Contains("\"tokenizer\":\"o200k_base\"", sections, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetReplyPrompt_IsTheOwnersAndTheAdmins_OtherUsersSeeNoSuchChat()
    {
        var owner = TestUsers.New();
        var ruby = await Fixture.Client(owner).CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Ruby", Persona = "A pirate.", ModelRoute = "llm" }, cancellationToken: Ct);
        var chat = await CreateChatAsync(owner, ruby);
        var events = await SendAsync(owner, chat.ChatId, "Hello");
        var reply = events.Single(e => e.EventCase == ReplyEvent.EventOneofCase.Completed).Completed.Turn;
        var request = new GetReplyPromptRequest { ChatId = chat.ChatId, Seq = reply.Seq, CandidateId = reply.CandidateId };
        var before = await Fixture.SnapshotAsync();

        var asOwner = await Fixture.Client(owner).GetReplyPromptAsync(request, cancellationToken: Ct);
        var asAdmin = await Fixture.Client(BudgetedOpenAIFixture.Admin).GetReplyPromptAsync(request, cancellationToken: Ct);
        await AssertStatusAsync(StatusCode.NotFound, async () => await Fixture.Client(TestUsers.New()).GetReplyPromptAsync(request, cancellationToken: Ct));
        // The user's turn has no candidates; an unknown candidate is as missing.
        await AssertStatusAsync(StatusCode.NotFound, async () => await Fixture.Client(owner).GetReplyPromptAsync(
            new GetReplyPromptRequest { ChatId = chat.ChatId, Seq = reply.Seq - 1 }, cancellationToken: Ct));
        await AssertStatusAsync(StatusCode.NotFound, async () => await Fixture.Client(owner).GetReplyPromptAsync(
            new GetReplyPromptRequest(request) { CandidateId = Guid.NewGuid().ToString() }, cancellationToken: Ct));
        var bad = await AssertStatusAsync(StatusCode.InvalidArgument, async () => await Fixture.Client(owner).GetReplyPromptAsync(
            new GetReplyPromptRequest(request) { CandidateId = "not an id!" }, cancellationToken: Ct));

        Assert.Contains("candidate_id", bad.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(asOwner, asAdmin);
        Assert.Equal(("user", "Hello"), (asOwner.Messages[^1].Role, asOwner.Messages[^1].Content));
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }
}
