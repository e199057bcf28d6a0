using System.Globalization;
using ChatService.Api.V1;
using ChatService.Memory;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Memory;

/// <summary>
/// As <see cref="MemoryFixture"/>, but with a prompt window of 40 turns and a small token budget on the
/// "llm" route, so it is the token budget, not the window's turn count, that drops the oldest turns.
/// </summary>
public sealed class TokenBudgetSummaryFixture(LocalStack stack) : MemoryFixture(stack)
{
    public const int BigWindowTurns = 40;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(base.Settings)
    {
        ["Dispatch:PromptWindowTurns"] = BigWindowTurns.ToString(CultureInfo.InvariantCulture),
        ["Inference:RouteBudgets:llm:ContextTokens"] = "1024",
        ["Inference:RouteBudgets:llm:ReplyReserveTokens"] = "256",
    };
}

/// <summary>
/// The summary trigger follows what the prompt actually dropped (<c>AssembledPrompt.OldestRecentSeq</c>):
/// with a window far from full in turns but a token budget that drops the oldest turns, a summary is still
/// made, and it covers exactly the turns the triggering prompt left out.
/// </summary>
[Collection(SummarySweepCollection.Name)]
public sealed class SummaryBudgetTriggerTests(TokenBudgetSummaryFixture fixture) : ApiTestBase(fixture), IClassFixture<TokenBudgetSummaryFixture>
{
    private static readonly string Padding = string.Join(' ', Enumerable.Repeat("lantern", 100));

    /// <summary>
    /// The seq of the oldest recent turn in a recorded prompt: the chat has no greeting, so the user turn
    /// "m{j} ..." is seq 2j - 1 and a reply just before it seq 2j - 2.
    /// </summary>
    private static long OldestKept(List<(string Role, string Content)> prompt)
    {
        var first = prompt.FindIndex(m => m.Role is "user" or "assistant");
        var user = prompt.FindIndex(first, m => m.Role == "user");
        var j = long.Parse(prompt[user].Content.Split(' ')[0][1..], CultureInfo.InvariantCulture);
        return prompt[first].Role == "user" ? (2 * j) - 1 : (2 * j) - 2;
    }

    [Fact]
    public async Task TurnsTheTokenBudgetDropped_AreSummarized_ThroughTheTurnBeforeTheOldestKept()
    {
        var user = TestUsers.New();
        var ruby = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ruby", Persona = "A pirate.", ModelRoute = "llm" }, cancellationToken: Ct);
        var chat = await CreateChatAsync(user, ruby);
        fixture.Summarizer.ReplyChunks = ["BUDGET SUMMARY"];

        long? expectedThrough = null;
        for (var i = 1; i <= 12 && expectedThrough is null; i++)
        {
            var before = fixture.Server.Requests.Count;
            var considered = Fixture.Service<SummaryScheduler>().Considered;
            var events = await SendAsync(user, chat.ChatId, $"m{i} {Padding}");
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
            await Fixture.Service<SummaryScheduler>().IdleAsync(TimeSpan.FromSeconds(30), considered + 1, Ct);

            // The window (40 turns) never fills in 24 turns: only the budget drops turns.
            Assert.True(2 * i < TokenBudgetSummaryFixture.BigWindowTurns);
            var oldest = OldestKept(fixture.Server.Messages(before));
            if (oldest - 1 >= MemoryFixture.EveryTurns)
            {
                expectedThrough = Math.Min(oldest - 1, MemoryFixture.MaxTurnsPerJob);
            }
        }

        Assert.NotNull(expectedThrough);

        // The exchange that made it due returned once its job was done; a slow commit still gets its time.
        var memory = await Fixture.Client(user).GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        for (var deadline = DateTime.UtcNow.AddSeconds(30); memory.Summary is null or { Version: 0 } && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(100, Ct);
            memory = await Fixture.Client(user).GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        }

        Assert.NotNull(memory.Summary);
        Assert.Equal((1L, expectedThrough.Value, "BUDGET SUMMARY"), (memory.Summary.Version, memory.Summary.ThroughSeq, memory.Summary.Text));
    }
}
