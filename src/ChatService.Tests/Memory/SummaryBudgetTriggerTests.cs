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

    /// <summary>The m-numbers of the user turns among <paramref name="texts"/> ("m{j} ..." or "User: m{j} ..." lines).</summary>
    private static HashSet<long> UserTurns(IEnumerable<string> texts) =>
        [.. texts.SelectMany(t => t.Split('\n'))
            .Select(line => line.StartsWith("User: ", StringComparison.Ordinal) ? line[6..] : line)
            .Where(line => line.Length > 1 && line[0] == 'm' && char.IsAsciiDigit(line[1]))
            .Select(line => long.Parse(line[1..].Split(' ')[0], CultureInfo.InvariantCulture))];

    private async Task<ChatSummary?> SummaryAsync(string user, string chatId) =>
        (await Fixture.Client(user).GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = chatId }, cancellationToken: Ct)).Summary;

    private async Task<List<(string Role, string Content)>> ExchangeAsync(string user, string chatId, string text)
    {
        var before = fixture.Server.Requests.Count;
        var considered = Fixture.Service<SummaryScheduler>().Considered;
        var events = await SendAsync(user, chatId, text);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        await Fixture.Service<SummaryScheduler>().IdleAsync(TimeSpan.FromSeconds(30), considered + 1, Ct);
        return fixture.Server.Messages(before);
    }

    [Fact]
    public async Task TurnsTheTokenBudgetDropped_AreSummarized_NeverPastTheOldestKept()
    {
        var user = TestUsers.New();
        var ruby = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ruby", Persona = "A pirate.", ModelRoute = "llm" }, cancellationToken: Ct);
        var chat = await CreateChatAsync(user, ruby);
        fixture.Summarizer.ReplyChunks = ["BUDGET SUMMARY"];

        ChatSummary? summary = null;
        long oldest = 0;
        for (var i = 1; i <= 16 && summary is null or { Version: 0 }; i++)
        {
            // The window (40 turns) never fills in 32 turns: only the budget drops turns.
            Assert.True(2 * i < TokenBudgetSummaryFixture.BigWindowTurns);
            oldest = OldestKept(await ExchangeAsync(user, chat.ChatId, $"m{i} {Padding}"));
            summary = await SummaryAsync(user, chat.ChatId);
        }

        // Made by the budget's cut (K turns or more), of turns the prompt that triggered it had dropped.
        Assert.NotNull(summary);
        Assert.Equal("BUDGET SUMMARY", summary.Text);
        Assert.InRange(summary.ThroughSeq, MemoryFixture.EveryTurns, oldest - 1);

        // And the next prompt does not show them again.
        Assert.True(OldestKept(await ExchangeAsync(user, chat.ChatId, $"m99 {Padding}")) > summary.ThroughSeq);
    }

    [Fact]
    public async Task OneHugeMessage_DoesNotMakeASummaryOfTurnsTheNextPromptShowsAgain()
    {
        var user = TestUsers.New();
        var ruby = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ruby", Persona = "A pirate.", ModelRoute = "llm" }, cancellationToken: Ct);
        var chat = await CreateChatAsync(user, ruby);
        var summaries = fixture.Summarizer.Requests.Count;
        for (var i = 1; i <= 3; i++)
        {
            await ExchangeAsync(user, chat.ChatId, $"m{i} {Padding}");
        }

        // One message larger than the whole budget: its prompt keeps it (its end) and none of the turns before it.
        var huge = await ExchangeAsync(user, chat.ChatId, $"m50 {string.Join(' ', Enumerable.Repeat(Padding, 8))}");
        Assert.Empty(UserTurns(huge.Where(m => m.Role is "user").Select(m => m.Content)));

        // It is taken back; the next ordinary prompt shows the earlier turns again.
        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        var hugeSeq = history.Turns.Single(t => t.Text.StartsWith("m50 ", StringComparison.Ordinal)).Seq;
        await Fixture.Client(user).RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = hugeSeq - 1, RequestId = "rewind-huge" }, cancellationToken: Ct);
        var next = await ExchangeAsync(user, chat.ChatId, $"m4 {Padding}");
        var shown = UserTurns(next.Where(m => m.Role is "user").Select(m => m.Content));
        Assert.Contains(3L, shown);

        // No summary covers any of them (before the fix, the huge message's prompt had m1 to m3 summarized).
        var summarized = UserTurns(Enumerable.Range(summaries, fixture.Summarizer.Requests.Count - summaries)
            .SelectMany(r => fixture.Summarizer.Messages(r)).Where(m => m.Role == "user").Select(m => m.Content));
        Assert.Empty(summarized.Intersect(shown));
    }
}
