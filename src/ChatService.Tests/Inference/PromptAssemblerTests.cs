using System.Diagnostics;
using ChatService.Inference;
using Microsoft.Extensions.AI;

namespace ChatService.Tests.Inference;

/// <summary>
/// The sectioned prompt assembler: the order of sections, where the note and lore go at a depth, and
/// what gives way to the budget (lowest priority first, the newest user turn never), counted by a real
/// tokenizer or the character estimate.
/// </summary>
public sealed class PromptAssemblerTests
{
    private static readonly PromptTokenizer O200k = PromptTokenizer.For(PromptTokenizer.O200kBase);

    private static readonly Dictionary<string, string> Names = new() { ["ruby"] = "Ruby", ["bob"] = "Bob" };

    private static CharacterPrompt Ruby => new("Ruby", "Quinn")
    {
        DefaultSystemPrompt = "Play {{char}}.",
        Persona = "A pirate.",
        UserDescription = "A sailor.",
        Scenario = "At sea.",
        PostHistoryInstructions = "Stay in character.",
    };

    private static PromptTurn User(long seq, string text) => new(true, null, text, seq);

    private static PromptTurn Said(long seq, string who, string text) => new(false, who, text, seq);

    private static PromptBudgets Roomy(PromptTokenizer? tokenizer = null) => new(tokenizer ?? O200k, 100_000);

    /// <summary>What the prompt costs, counted here from its messages alone: every message's text and framing, and the priming.</summary>
    private static int Recount(IReadOnlyList<ChatMessage> messages, PromptTokenizer tokenizer) =>
        messages.Sum(m => tokenizer.Count(m.Text) + PromptTokenizer.MessageOverhead) + PromptTokenizer.MessageOverhead;

    private static List<PromptTurn> LongChat(int turns, Func<int, string>? text = null) =>
        [.. Enumerable.Range(1, turns).Select(i => i % 2 == turns % 2
            ? User(i, text?.Invoke(i) ?? $"User message number {i}, asking about the voyage and the weather on day {i}.")
            : Said(i, "ruby", text?.Invoke(i) ?? $"Ruby's answer number {i}: the wind is fair and the crew sings shanty {i}."))];

    private static readonly PromptMemory Everything = new()
    {
        Note = "NOTE: Quinn owes Ruby ten doubloons.",
        Summary = "They met in Lisbon and set sail.",
        SummaryThroughSeq = 2,
        Lore =
        [
            new("e-before", "LORE-BEFORE: The sea is cursed.", LorePosition.BeforeDefinition, 5, 0),
            new("e-after", "LORE-AFTER: Ruby's ship is the Gull.", LorePosition.AfterDefinition, 5, 0),
            new("e-history", "LORE-HISTORY: Dragons live in the north.", LorePosition.BeforeHistory, 5, 0),
        ],
    };

    [Fact]
    public void Prefill_EndsThePrompt_AfterThePostHistoryInstructions_CountedWithTheHistory()
    {
        var window = new[] { User(10, "Hi"), Said(11, "ruby", "Ahoy."), User(12, "Where to?") };

        var plain = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [], PromptMemory.None, Roomy());
        var continued = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [], PromptMemory.None, Roomy(), prefill: "North, to the ice, where");

        // The same prompt, and the reply so far as the assistant's last word.
        Assert.Equal(plain.Messages.Select(m => (m.Role, m.Text)), continued.Messages.SkipLast(1).Select(m => (m.Role, m.Text)));
        Assert.Equal((ChatRole.Assistant, "North, to the ice, where"), (continued.Messages[^1].Role, continued.Messages[^1].Text));
        Assert.Equal((ChatRole.System, "Stay in character."), (continued.Messages[^2].Role, continued.Messages[^2].Text));
        Assert.Equal(plain[PromptSection.History] + O200k.CountMessage("North, to the ice, where"), continued[PromptSection.History]);
        Assert.Equal(Recount(continued.Messages, O200k), continued.TotalTokens);
    }

    [Fact]
    public void Prefill_OverTheWholeBudget_KeepsItsEnd_AndTheNewestUserTurn()
    {
        var window = LongChat(12);
        var prefill = string.Join(" ", Enumerable.Range(1, 400).Select(i => $"word{i}")) + " THE END SO FAR";
        var budget = new PromptBudgets(O200k, 600);

        var prompt = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [], PromptMemory.None, budget, prefill);

        Assert.InRange(prompt.TotalTokens, 1, 600);
        Assert.Equal(Recount(prompt.Messages, O200k), prompt.TotalTokens);
        var last = prompt.Messages[^1];
        Assert.Equal(ChatRole.Assistant, last.Role);
        Assert.EndsWith("THE END SO FAR", last.Text);
        Assert.True(last.Text.Length < prefill.Length, "the prefill was not cut");
        Assert.Contains(prompt.Messages, m => m.Text == window[^1].Text);
    }

    [Fact]
    public void Sections_ComeInTheDocumentedOrder()
    {
        var window = new[] { User(10, "Hi"), Said(11, "ruby", "Ahoy."), User(12, "Where to?") };
        var pinned = new[] { User(3, "PIN: the map is in the boot.") };

        var prompt = PromptBuilder.Assemble(Ruby, "ruby", window, Names, pinned, Everything, Roomy());

        var texts = prompt.Messages.Select(m => (m.Role, m.Text)).ToList();
        Assert.Equal(
            [
                (ChatRole.System, "Play Ruby.\n\nLORE-BEFORE: The sea is cursed.\n\nA pirate.\n\nThe user is Quinn. A sailor.\n\nScenario: At sea.\n\nLORE-AFTER: Ruby's ship is the Gull."),
                (ChatRole.User, "PIN: the map is in the boot."),
                (ChatRole.System, "NOTE: Quinn owes Ruby ten doubloons."),
                (ChatRole.System, PromptBuilder.SummaryLabel + "They met in Lisbon and set sail."),
                (ChatRole.System, "LORE-HISTORY: Dragons live in the north."),
                (ChatRole.User, "Hi"),
                (ChatRole.Assistant, "Ahoy."),
                (ChatRole.User, "Where to?"),
                (ChatRole.System, "Stay in character."),
            ],
            texts);
        Assert.Equal(10, prompt.OldestRecentSeq);
        Assert.Equal(["e-after", "e-before", "e-history"], prompt.LoreIds.Order(StringComparer.Ordinal));
        Assert.Equal(Recount(prompt.Messages, O200k), prompt.TotalTokens);
        Assert.Equal(prompt.TotalTokens, prompt.SectionTokens.Sum() + PromptTokenizer.MessageOverhead);
        Assert.All(Enum.GetValues<PromptSection>(), s => Assert.True(prompt[s] > 0, $"section {s} is counted"));
        Assert.Equal(O200k.Count("The user is Quinn. A sailor."), prompt[PromptSection.Persona]);
    }

    [Fact]
    public void TheNote_AndLoreAtDepth_GoAmongTheRecentTurns_CountedFromTheNewest()
    {
        var window = new[] { User(1, "one"), Said(2, "ruby", "two"), User(3, "three"), Said(4, "ruby", "four"), User(5, "five") };
        var memory = new PromptMemory
        {
            Note = "NOTE",
            NoteDepth = 2,
            Lore =
            [
                new("deep", "LORE-DEEP", LorePosition.AtDepth, 1, 4),
                new("last", "LORE-LAST", LorePosition.AtDepth, 1, 0),
                new("two-b", "LORE-2B", LorePosition.AtDepth, 9, 2),
                new("two-a", "LORE-2A", LorePosition.AtDepth, 3, 2),
                new("far", "LORE-FAR", LorePosition.AtDepth, 1, 99),
            ],
        };

        var prompt = PromptBuilder.Assemble(Ruby with { PostHistoryInstructions = "" }, "ruby", window, Names, [], memory, Roomy());

        Assert.Equal(
            ["LORE-FAR", "one", "LORE-DEEP", "two", "three", "NOTE", "LORE-2A", "LORE-2B", "four", "five", "LORE-LAST"],
            prompt.Messages.Skip(1).Select(m => m.Text));
    }

    [Fact]
    public void AFiveHundredTurnChat_StaysWithinTheBudget_ByTheTokenizer_NewestTurnsContiguous_NewestUserTurnKept()
    {
        var window = LongChat(500);
        var pinned = new[] { User(7, "PIN: remember the parrot.") };
        foreach (var budget in new[] { 300, 600, 1_000, 2_500 })
        {
            var prompt = PromptBuilder.Assemble(Ruby, "ruby", window, Names, pinned, Everything, new PromptBudgets(O200k, budget) { HistoryTokens = 100_000 });

            Assert.True(prompt.TotalTokens <= budget, $"{prompt.TotalTokens} tokens within {budget}");
            Assert.Equal(Recount(prompt.Messages, O200k), prompt.TotalTokens);
            var texts = prompt.Messages.Select(m => m.Text).ToList();
            Assert.Contains(window[^1].Text, texts);
            var kept = texts.Where(t => t.StartsWith("User message", StringComparison.Ordinal) || t.StartsWith("Ruby's answer", StringComparison.Ordinal)).ToList();
            Assert.Equal(window.TakeLast(kept.Count).Select(t => t.Text), kept);
            Assert.Equal(window[^kept.Count].Seq, prompt.OldestRecentSeq);
            // In order: the definition, the pin, the note, the summary, the lore, then the turns.
            var order = new[] { "Play Ruby.", "PIN:", "NOTE:", PromptBuilder.SummaryLabel, "LORE-HISTORY", window[^1].Text }
                .Select(start => texts.FindIndex(t => t.StartsWith(start, StringComparison.Ordinal))).Where(i => i >= 0).ToList();
            Assert.Equal(order.Order(), order);
        }
    }

    [Fact]
    public void TrimmingGoesFromTheLowestPriority_PostHistoryThenOlderTurnsThenLoreThenSummaryThenMemoryThenPins()
    {
        var window = LongChat(40);
        var pinned = new[] { User(1, "PIN: remember the parrot.") };
        var full = PromptBuilder.Assemble(Ruby, "ruby", window, Names, pinned, Everything, Roomy() with { HistoryTokens = 100_000 });
        int[] Present(AssembledPrompt p) => [.. Enum.GetValues<PromptSection>().Select(s => p[s])];

        var previous = Present(full);
        for (var budget = full.TotalTokens; budget > 40; budget -= 7)
        {
            var prompt = PromptBuilder.Assemble(Ruby, "ruby", window, Names, pinned, Everything, new PromptBudgets(O200k, budget) { HistoryTokens = 100_000 });
            Assert.True(prompt.TotalTokens <= budget);
            var now = Present(prompt);

            // A section only shrinks once every section of lower priority (after it) has given way entirely,
            // the recent turns down to the newest user turn. The persona is inside the first system message,
            // which is cut as one (its example dialogues first), so the two count as one section here.
            for (var s = 0; s < now.Length; s++)
            {
                var shrank = s == (int)PromptSection.Persona ? false
                    : s == (int)PromptSection.System ? now[0] + now[1] < previous[0] + previous[1]
                    : now[s] < previous[s];
                if (shrank)
                {
                    for (var lower = Math.Max(s + 1, (int)PromptSection.Pins); lower < now.Length; lower++)
                    {
                        var floor = lower == (int)PromptSection.History ? O200k.CountMessage(window[^1].Text) : 0;
                        Assert.True(now[lower] <= floor, $"at {budget} tokens {(PromptSection)s} shrank while {(PromptSection)lower} still has {now[lower]}");
                    }
                }
            }

            previous = now;
            Assert.Contains(prompt.Messages, m => m.Text == window[^1].Text);
        }
    }

    [Fact]
    public void TheNewestUserTurn_IsKeptWhenACharacterSpokeAfterIt_AndCutOnlyWhenItAloneIsOverTheBudget()
    {
        var huge = string.Join(' ', Enumerable.Range(0, 3_000).Select(i => $"word{i}"));
        var window = new[] { User(1, "old"), User(2, huge), Said(3, "bob", new string('b', 20_000)) };

        var prompt = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [], PromptMemory.None, new PromptBudgets(O200k, 500));

        Assert.True(prompt.TotalTokens <= 500, $"{prompt.TotalTokens}");
        var user = Assert.Single(prompt.Messages, m => m.Role == ChatRole.User);
        Assert.EndsWith("word2999", user.Text);
        Assert.True(user.Text.Length < huge.Length);
        Assert.Equal(2, prompt.OldestRecentSeq);
    }

    [Fact]
    public void OverTheLoreBudget_TheLowestOrdersGoFirst_AndKeptEntriesGoInAscendingOrder()
    {
        var entry = "A lore entry of a dozen words or so, about the northern seas.";
        var cost = O200k.CountMessage(entry);
        var memory = new PromptMemory
        {
            Lore = [.. new[] { 30, 10, 40, 20 }.Select(order => new LoreInsertion($"o{order}", $"{order}: {entry}", LorePosition.AtDepth, order, 0))],
        };

        var prompt = PromptBuilder.Assemble(Ruby, "ruby", [User(1, "Hi")], Names, [], memory, Roomy() with { LoreTokens = (2 * cost) + 4 });

        Assert.Equal(["o30", "o40"], prompt.LoreIds);
        Assert.Equal(["Hi", $"30: {entry}", $"40: {entry}"], prompt.Messages.Skip(1).SkipLast(1).Select(m => m.Text));
        Assert.True(prompt[PromptSection.Lore] <= (2 * cost) + 4);
    }

    [Fact]
    public void GroupTurns_KeepTheirNamePrefixes_AndAPinAmongTheRecentTurnsIsNotRepeated()
    {
        var window = new[] { User(5, "Both of you?"), Said(6, "bob", "Arr."), Said(7, "ruby", "Aye.") };

        var prompt = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [User(2, "pinned old"), User(5, "Both of you?")], PromptMemory.None, Roomy());

        Assert.Equal(
            [(ChatRole.User, "pinned old"), (ChatRole.User, "Both of you?"), (ChatRole.User, "Bob: Arr."), (ChatRole.Assistant, "Aye.")],
            prompt.Messages.Skip(1).SkipLast(1).Select(m => (m.Role, m.Text)));
    }

    [Fact]
    public void TheRealTokenizer_CountsDifferentlyFromTheEstimate_AndTheBudgetFollowsIt()
    {
        Assert.Equal(2, O200k.Count("hello world"));
        Assert.Equal(2, PromptTokenizer.For("CL100K_BASE").Count("hello world"));
        Assert.Equal(3, PromptTokenizer.Estimate.Count("hello world"));
        Assert.True(O200k.IsExact);
        Assert.False(PromptTokenizer.For(null).IsExact);
        Assert.Same(O200k, PromptTokenizer.For("o200k_base"));
        Assert.Throws<ArgumentException>(() => PromptTokenizer.For("gpt2"));

        // Text that tokenizes densely (one token a word) fits fewer words by o200k than by the estimate, which assumes four characters a token.
        var window = LongChat(200, i => string.Join(' ', Enumerable.Range(0, 20).Select(w => $"x{(i * 31) + w}")));
        var byTokens = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [], PromptMemory.None, new PromptBudgets(O200k, 1_000) { HistoryTokens = 100_000 });
        var byChars = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [], PromptMemory.None, new PromptBudgets(PromptTokenizer.Estimate, 1_000) { HistoryTokens = 100_000 });

        Assert.Equal("o200k_base", byTokens.Tokenizer);
        Assert.Equal("chars", byChars.Tokenizer);
        Assert.True(Recount(byTokens.Messages, O200k) <= 1_000);
        Assert.True(Recount(byChars.Messages, PromptTokenizer.Estimate) <= 1_000);
        Assert.True(byTokens.OldestRecentSeq > byChars.OldestRecentSeq, $"o200k keeps from {byTokens.OldestRecentSeq} ({byTokens.TotalTokens}), the estimate from {byChars.OldestRecentSeq} ({byChars.TotalTokens}); {O200k.Count(window[^1].Text)} vs {PromptTokenizer.Estimate.Count(window[^1].Text)}");
    }

    [Fact]
    public void TheCharacterBudgetsOfBefore_AreReadAsAQuarterAsManyTokens_UnlessTokenBudgetsAreSet()
    {
        var budget = new RoutePromptBudget(O200k, 4096, 512);

        var defaults = new ChatService.Dispatch.DispatchOptions().PromptBudgets(budget);
        var legacy = new ChatService.Dispatch.DispatchOptions { PromptBudgetChars = 12_000, PinnedBudgetChars = 400, DefinitionBudgetChars = 8_000 }.PromptBudgets(budget);
        var both = new ChatService.Dispatch.DispatchOptions { PromptBudgetChars = 12_000, HistoryBudgetTokens = 900 }.PromptBudgets(budget);

        Assert.Equal((3_584, 3_000, 1_000, 12_000), (defaults.PromptTokens, defaults.HistoryTokens, defaults.PinnedTokens, defaults.DefinitionTokens));
        Assert.Equal((3_000, 100, 2_000), (legacy.HistoryTokens, legacy.PinnedTokens, legacy.DefinitionTokens));
        Assert.Equal(900, both.HistoryTokens);
        Assert.Same(O200k, defaults.Tokenizer);
    }

    [Fact]
    public void AStoredPrompt_RoundTrips_Compressed_AndOverItsBoundKeepsOnlyItsCounts()
    {
        var prompt = PromptBuilder.Assemble(Ruby, "ruby", LongChat(40), Names, [], Everything, Roomy() with { HistoryTokens = 100_000 });
        var text = prompt.Messages.Sum(m => m.Text.Length);

        var stored = ChatService.Storage.PromptRecords.Messages(prompt.Messages, 1_000_000)!;
        var sections = ChatService.Storage.PromptRecords.ReadSections(ChatService.Storage.PromptRecords.Sections(prompt));

        Assert.Equal(prompt.Messages.Select(m => (m.Role.Value, m.Text)), ChatService.Storage.PromptRecords.ReadMessages(stored).Select(m => (m.Role, m.Content)));
        Assert.True(stored.Length < text / 2, $"{stored.Length} bytes for {text} characters");
        Assert.Equal(prompt.SectionTokens, sections.Select(s => s.Tokens));
        Assert.Null(ChatService.Storage.PromptRecords.Messages(prompt.Messages, stored.Length - 1));
    }

    [Fact]
    public void AssemblingAWarmTwentyTurnWindow_CostsLittleCpu()
    {
        var window = LongChat(20, i => string.Join(' ', Enumerable.Range(0, 120).Select(w => $"word{(i * 7) + w}")));
        var definition = Ruby with { Description = string.Join(' ', Enumerable.Range(0, 400).Select(w => $"lore{w}")) };
        var budgets = Roomy() with { HistoryTokens = 100_000 };
        for (var i = 0; i < 20; i++)
        {
            PromptBuilder.Assemble(definition, "ruby", window, Names, [], PromptMemory.None, budgets);
        }

        const int Rounds = 300;
        var (assemble, assembleCpu) = Measure(Rounds, () => PromptBuilder.Assemble(definition, "ruby", window, Names, [], PromptMemory.None, budgets));
        var (charsOnly, charsOnlyCpu) = Measure(Rounds, () => PromptBuilder.Build(definition, "ruby", window, Names, 100_000, [], 0, 100_000));

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"assembled by o200k: {assemble.TotalMicroseconds:F0} µs ({assembleCpu.TotalMicroseconds:F0} µs CPU); laid out by characters: {charsOnly.TotalMicroseconds:F0} µs ({charsOnlyCpu.TotalMicroseconds:F0} µs CPU)");
        // The window's turns are counted once while they live and the definition once while it is unchanged;
        // what is left is the layout itself. Process CPU, not wall time: the machine is shared.
        Assert.True(assembleCpu < TimeSpan.FromMilliseconds(1), $"{assembleCpu.TotalMicroseconds:F0} µs CPU a prompt");
    }

    private static (TimeSpan Wall, TimeSpan Cpu) Measure(int rounds, Action action)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < rounds; i++)
        {
            action();
        }

        return (clock.Elapsed / rounds, (Process.GetCurrentProcess().TotalProcessorTime - cpu) / rounds);
    }
}
