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
        // Turn 7 is pinned (the window and the pins carry the same turn, as they do in a chat).
        window[6] = window[6] with { Text = "PIN: remember the parrot." };
        var pinned = new[] { window[6] };
        var notesKept = 0;
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
            // The pin is there whenever anything of lower priority is.
            if (texts.Exists(t => t.StartsWith("NOTE:", StringComparison.Ordinal)))
            {
                notesKept++;
                Assert.Contains("PIN: remember the parrot.", texts);
            }
        }

        // Some budget keeps the note, so the pin's check above did run.
        Assert.True(notesKept > 0, "no budget kept the note");
    }

    [Fact]
    public void TrimmingGoesFromTheLowestPriority_PostHistoryThenOlderTurnsThenLoreThenSummaryThenMemoryThenPins()
    {
        var window = LongChat(40);
        var pinned = new[] { User(1, "PIN: remember the parrot.") };
        var full = PromptBuilder.Assemble(Ruby, "ruby", window, Names, pinned, Everything, Roomy() with { HistoryTokens = 100_000 });
        int[] Present(AssembledPrompt p) => [.. Enum.GetValues<PromptSection>().Select(s => p[s])];

        var previous = Present(full);
        var shrinks = new HashSet<int>();
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
                    shrinks.Add(s);
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

        // The loop saw every section but the persona give way (else the checks above held for nothing).
        Assert.Equal(Enum.GetValues<PromptSection>().Select(x => (int)x).Where(x => x != (int)PromptSection.Persona).Order(), shrinks.Order());
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
        Assert.Same(PromptTokenizer.Estimate, PromptTokenizer.For(null));
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

        // Unset ceilings are shares of the route's prompt budget (3584 here), each at most its fixed default.
        Assert.Equal((3_584, 1_326, 286, 1_075), (defaults.PromptTokens, defaults.HistoryTokens, defaults.PinnedTokens, defaults.DefinitionTokens));
        Assert.Equal((143, 286, 286), (defaults.MemoryTokens, defaults.SummaryTokens, defaults.LoreTokens));
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
        var (byChars, byCharsCpu) = Measure(Rounds, () => PromptBuilder.Assemble(definition, "ruby", window, Names, [], PromptMemory.None, new PromptBudgets(PromptTokenizer.Estimate, 100_000) { HistoryTokens = 100_000 }));

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"assembled by o200k: {assemble.TotalMicroseconds:F0} µs ({assembleCpu.TotalMicroseconds:F0} µs CPU); by the character estimate: {byChars.TotalMicroseconds:F0} µs ({byCharsCpu.TotalMicroseconds:F0} µs CPU)");
        // The window's turns are counted once while they live and the definition once while it is unchanged;
        // what is left is the layout itself. Process CPU, not wall time: the machine is shared.
        Assert.True(assembleCpu < TimeSpan.FromMilliseconds(1), $"{assembleCpu.TotalMicroseconds:F0} µs CPU a prompt");
    }

    [Fact]
    public void APinnedRecentTurn_CutFromTheHistoryByTheWholeBudget_StaysAsAPin_WhileTheNoteGivesWay()
    {
        // Twelve short turns, all within the history's own ceiling, so the pinned turn 5 counts as a recent turn;
        // a long note takes what the budget has left, and the history is cut short of turn 5 by the whole budget.
        var window = LongChat(12);
        var pinned = new[] { window[4] };
        var memory = new PromptMemory { Note = "NOTE: " + string.Join(' ', Enumerable.Range(0, 600).Select(i => $"fact{i}")) };
        var budgets = new PromptBudgets(O200k, 800) { HistoryTokens = 100_000, MemoryTokens = 5_000 };

        var prompt = PromptBuilder.Assemble(Ruby, "ruby", window, Names, pinned, memory, budgets);

        var texts = prompt.Messages.Select(m => m.Text).ToList();
        Assert.True(prompt.TotalTokens <= 800, $"{prompt.TotalTokens}");
        Assert.Equal(Recount(prompt.Messages, O200k), prompt.TotalTokens);
        Assert.Contains(window[^1].Text, texts);
        // The history did not reach turn 5 (turn 6 is not in) ...
        Assert.DoesNotContain(window[5].Text, texts);
        Assert.True(prompt.OldestRecentSeq > 6, $"recent turns from {prompt.OldestRecentSeq}");
        // ... yet the pinned turn is there, once, as a pin ahead of the note, which was cut to make room.
        Assert.Single(texts, t => t == window[4].Text);
        var note = texts.FindIndex(t => t.StartsWith("NOTE:", StringComparison.Ordinal));
        Assert.InRange(texts.IndexOf(window[4].Text), 1, note - 1);
        Assert.True(texts[note].Length < memory.Note.Length, "the note gave way");
        Assert.Equal(O200k.CountMessage(window[4].Text), prompt[PromptSection.Pins]);

        // With room for the whole history, the same pinned turn is a recent turn again, not repeated.
        var roomy = PromptBuilder.Assemble(Ruby, "ruby", window, Names, pinned, memory, Roomy() with { HistoryTokens = 100_000, MemoryTokens = 5_000 });
        Assert.Equal(window[0].Seq, roomy.OldestRecentSeq);
        Assert.Single(roomy.Messages, m => m.Text == window[4].Text);
        Assert.Equal(0, roomy[PromptSection.Pins]);
    }

    [Fact]
    public void PinsOlderThanTheKeptRecentTurns_GoAheadOfThem_WithinTheirCeiling_OldestDroppedFirst_AndAPinTheHistoryCeilingDropsComesBack()
    {
        var recent = new[] { User(50, "recent one"), User(51, "recent two") };
        var pinned = new[] { User(3, "pin three"), User(7, "pin seven"), User(9, "pin nine"), User(51, "recent two") };
        var pinsCeiling = O200k.CountMessage("pin seven") + O200k.CountMessage("pin nine");

        var prompt = PromptBuilder.Assemble(Ruby, "ruby", recent, Names, pinned, PromptMemory.None, Roomy() with { PinnedTokens = pinsCeiling });

        Assert.Equal(["pin seven", "pin nine", "recent one", "recent two"], prompt.Messages.Skip(1).SkipLast(1).Select(m => m.Text));

        // A pinned turn the history's own ceiling leaves out comes back as a pin.
        var window = new[] { User(10, "old but pinned"), User(11, new string('x', 90)) };
        var cut = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [window[0]], PromptMemory.None, Roomy() with { HistoryTokens = O200k.CountMessage(window[1].Text) });

        Assert.Equal(["old but pinned", window[1].Text], cut.Messages.Skip(1).SkipLast(1).Select(m => m.Text));
        Assert.Equal(11, cut.OldestRecentSeq);
    }

    [Fact]
    public void OverItsCeiling_TheUsersPersonaIsCutBeforeTheDefinition_ThenWholeExampleDialogues()
    {
        var definition = Ruby with
        {
            Description = "Captain of the Gull.",
            Personality = "gruff",
            UserDescription = "A sailor from Lisbon who " + string.Join(' ', Enumerable.Range(0, 60).Select(i => $"likes{i}")) + ".",
            ExampleDialogues = "<START>\n{{user}}: Hi\n{{char}}: Ahoy.\n<START>\n{{user}}: Where to?\n{{char}}: North, where the ice sings.",
            PostHistoryInstructions = "",
        };
        string SystemOf(int definitionTokens) =>
            PromptBuilder.Assemble(definition, "ruby", [User(1, "Hi")], Names, [], PromptMemory.None, Roomy() with { DefinitionTokens = definitionTokens }).Messages[0].Text;
        var whole = SystemOf(100_000);
        var wholeTokens = O200k.CountMessage(whole);
        Assert.Contains("Example dialogues:\n<START>\nQuinn: Hi\nRuby: Ahoy.\n<START>\nQuinn: Where to?", whole);

        // A little over: the persona's description is cut, the definition whole.
        var slightly = SystemOf(wholeTokens - 20);
        Assert.Contains("The user is Quinn. A sailor from Lisbon", slightly);
        Assert.DoesNotContain("likes59", slightly);
        Assert.EndsWith("North, where the ice sings.", slightly);
        Assert.Contains("Captain of the Gull.", slightly);

        // Without the persona's description, the example dialogues go next, in whole blocks, the label of the user kept.
        var withoutPersona = O200k.CountMessage(whole.Replace(" " + definition.UserDescription, "", StringComparison.Ordinal));
        var more = SystemOf(withoutPersona - 5);
        Assert.Contains("The user is Quinn.\n\nScenario: At sea.", more);
        Assert.EndsWith("Example dialogues:\n<START>\nQuinn: Hi\nRuby: Ahoy.", more);
        Assert.Contains("Captain of the Gull.", more);
    }

    [Fact]
    public void Placeholders_AreReplacedWhateverTheirCase_OnlyOnce_AndOriginalIsTheDefaultSystemPrompt()
    {
        var definition = new CharacterPrompt("{{user}}", "Quinn")
        {
            DefaultSystemPrompt = "Default for {{char}}.",
            SystemPrompt = "{{ORIGINAL}} Also: {{Char}} and {{USER}}; {{original}}",
            Persona = "{{char}}/{{user}}/{{chars}}/{ {user} }",
            PostHistoryInstructions = "{{original}}Stay {{char}}.",
        };

        var prompt = PromptBuilder.Assemble(definition, "ruby", [User(1, "Hi")], Names, [], PromptMemory.None, Roomy());

        Assert.Equal("Default for {{user}}. Also: {{user}} and Quinn; Default for {{user}}.\n\n{{user}}/Quinn/{{chars}}/{ {user} }", prompt.Messages[0].Text);
        Assert.Equal((ChatRole.System, "Stay {{user}}."), (prompt.Messages[^1].Role, prompt.Messages[^1].Text));
    }

    [Fact]
    public void EmptyTurnsAreLeftOut_TheWindowStaysContiguous_AndACutNewestTurnNeverSplitsASurrogatePair()
    {
        var withEmpty = PromptBuilder.Assemble(Ruby, "ruby", [User(1, "Hi"), Said(2, "ruby", " "), User(3, "Still there?")], Names, [], PromptMemory.None, Roomy());
        Assert.Equal(["Hi", "Still there?"], withEmpty.Messages.Skip(1).SkipLast(1).Select(m => m.Text));

        // An older short turn that would fit is not kept once a newer one did not.
        var window = new[] { User(1, "hi"), Said(2, "ruby", string.Join(' ', Enumerable.Range(0, 50).Select(i => $"w{i}"))), User(3, "newest") };
        var contiguous = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [], PromptMemory.None, Roomy() with { HistoryTokens = 20 });
        Assert.Equal(["newest"], contiguous.Messages.Skip(1).SkipLast(1).Select(m => m.Text));

        var emoji = string.Concat(Enumerable.Repeat("😀a", 2_000));
        var cut = PromptBuilder.Assemble(Ruby with { PostHistoryInstructions = "" }, "ruby", [User(1, emoji)], Names, [], PromptMemory.None, new PromptBudgets(O200k, 300));
        var text = cut.Messages[^1].Text;
        Assert.True(text.Length is > 0 and < 4_000, $"{text.Length}");
        Assert.False(char.IsLowSurrogate(text[0]), "the cut starts inside a surrogate pair");
        Assert.EndsWith("😀a", text);
    }

    [Fact]
    public void AMaximalCharacter_OnTheDefaultRoute_LeavesRoomForRecentTurns_AndOnlyCeilingsThatStarveHistoryAreReported()
    {
        var route = new RoutePromptBudget(O200k, new InferenceOptions().ContextTokens, new InferenceOptions().ReplyReserveTokens);
        var defaults = new ChatService.Dispatch.DispatchOptions().PromptBudgets(route);
        // A definition at the bound of Chat:MaxDefinitionChars (32,000), nearly all of it in the description.
        var huge = Ruby with { Description = string.Join(' ', Enumerable.Range(0, 6_000).Select(i => $"w{i}"))[..31_000] };
        var window = LongChat(200);

        var prompt = PromptBuilder.Assemble(huge, "ruby", window, Names, [], Everything, defaults);

        Assert.True(prompt.TotalTokens <= route.PromptTokens, $"{prompt.TotalTokens} within {route.PromptTokens}");
        Assert.True(O200k.Count(huge.Description) > route.PromptTokens, "the definition alone is over the whole budget");
        var recent = prompt.Messages.Count(m => m.Text.StartsWith("User message", StringComparison.Ordinal) || m.Text.StartsWith("Ruby's answer", StringComparison.Ordinal));
        Assert.True(recent >= 10, $"{recent} recent turns");
        Assert.True(prompt[PromptSection.History] > route.PromptTokens / 4, $"{prompt[PromptSection.History]} tokens of history");
        Assert.Contains(prompt.Messages, m => m.Text == "Stay in character.");
        Assert.False(ChatService.Dispatch.PromptBudgetReport.Starves(defaults, out _, out _, out _));

        // The fixed ceilings of before, on the same route: the definition's alone was over the budget.
        var before = new ChatService.Dispatch.DispatchOptions { DefinitionBudgetTokens = 12_000, HistoryBudgetTokens = 3_000 }.PromptBudgets(route);
        Assert.True(ChatService.Dispatch.PromptBudgetReport.Starves(before, out var sum, out var left, out var wanted));
        Assert.Equal((0, 1_920), (left, wanted));
        // What the log reports is the ceilings' real sum, over the budget, not the budget itself.
        Assert.Equal((long)before.DefinitionTokens + before.PinnedTokens + before.MemoryTokens + before.SummaryTokens + before.LoreTokens, sum);
        Assert.True(sum > before.PromptTokens, $"{sum} over {before.PromptTokens}");
        var starved = PromptBuilder.Assemble(huge, "ruby", window, Names, [], Everything, before);
        Assert.Equal(window[^1].Seq, starved.OldestRecentSeq);
    }

    [Fact]
    public void AHistoryCutByItsOwnCeiling_WithRoomToSpare_KeepsThePostHistoryInstructions_AndWhatComesBeforeIt()
    {
        // Forty turns over a ceiling of a few hundred tokens: the history's own ceiling cuts it, which is no reason
        // for anything else to give way. The budget is a little more than that prompt, so the room left once the
        // history is in is less than the history's ceiling (a cut judged then would look like the whole budget's).
        var window = LongChat(40);
        var roomy = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [], Everything, Roomy() with { HistoryTokens = 300 });
        var budgets = new PromptBudgets(O200k, roomy.TotalTokens + 60) { HistoryTokens = 300 };

        var prompt = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [], Everything, budgets);

        Assert.Equal(roomy.Messages.Select(m => m.Text), prompt.Messages.Select(m => m.Text));

        Assert.True(prompt.OldestRecentSeq > window[0].Seq, "the history was cut by its ceiling");
        Assert.InRange(prompt[PromptSection.History], 1, 300);
        Assert.Equal((ChatRole.System, "Stay in character."), (prompt.Messages[^1].Role, prompt.Messages[^1].Text));
        Assert.Equal(O200k.CountMessage("Stay in character."), prompt[PromptSection.PostHistory]);
        Assert.Equal(Recount(prompt.Messages, O200k), prompt.TotalTokens);
    }

    [Fact]
    public void AHeldPinLeftOutForLackOfRoom_TakesTheMemorySummaryAndLoreWithIt()
    {
        // The pinned turn 9 is a recent turn the history's ceiling would keep (a held pin); the budget has no room
        // for it after the system message and the newest user turn, though a small pins ceiling and a short note
        // would fit what is left.
        var pinnedText = "PINNED: " + string.Join(' ', Enumerable.Range(0, 400).Select(i => $"oath{i}"));
        var window = new[] { User(9, pinnedText), Said(10, "ruby", "Aye."), User(11, "And now?") };
        var fits = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [window[0]], Everything, Roomy() with { HistoryTokens = 100_000, PinnedTokens = 10 });
        Assert.Contains(fits.Messages, m => m.Text == pinnedText);
        var budget = fits.TotalTokens - (O200k.CountMessage(pinnedText) / 2);
        var budgets = new PromptBudgets(O200k, budget) { HistoryTokens = 100_000, PinnedTokens = 10 };

        var prompt = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [window[0]], Everything, budgets);

        Assert.True(prompt.TotalTokens <= budget, $"{prompt.TotalTokens}");
        var texts = prompt.Messages.Select(m => m.Text).ToList();
        Assert.DoesNotContain(pinnedText, texts);
        Assert.Contains("And now?", texts);
        // Nothing of lower priority than the pin is sent while it is missing.
        Assert.Equal((0, 0, 0, 0), (prompt[PromptSection.Memory], prompt[PromptSection.Summary], prompt[PromptSection.Lore], prompt[PromptSection.PostHistory]));
        Assert.DoesNotContain(texts, t => t.Contains("NOTE:", StringComparison.Ordinal) || t.Contains("LORE-", StringComparison.Ordinal) || t.StartsWith(PromptBuilder.SummaryLabel, StringComparison.Ordinal));
    }

    [Fact]
    public void TheSummaryTriggersCeiling_GivesBackTriggeredLore_ButNotConstantLore()
    {
        // Forty short turns under a whole budget that cuts the history (its own ceiling is far), with one large
        // lore entry: constant (in every later prompt too) or triggered by this prompt's messages (a one-off).
        var window = LongChat(40);
        var entry = "LORE: " + string.Join(' ', Enumerable.Range(0, 300).Select(i => $"rune{i}"));
        PromptMemory WithLore(bool constant) => new() { Lore = [new("big", entry, LorePosition.BeforeHistory, 5, 0, constant)] };
        var budgets = new PromptBudgets(O200k, 1_000) { HistoryTokens = 100_000, LoreTokens = 100_000 };

        var constant = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [], WithLore(true), budgets);
        var triggered = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [], WithLore(false), budgets);

        // The same prompt either way, its history cut by the whole budget, the entry in it.
        Assert.Equal(constant.Messages.Select(m => m.Text), triggered.Messages.Select(m => m.Text));
        Assert.Contains(entry, constant.Messages.Select(m => m.Text));
        Assert.True(constant.OldestRecentSeq > window[0].Seq + 20, $"recent turns from {constant.OldestRecentSeq}");

        // Constant lore takes its room from every later prompt as well: the trigger's ceiling is this prompt's
        // own cut, give or take the room of its newest message (a turn or so).
        Assert.InRange(constant.HistoryCeilingSeq, constant.OldestRecentSeq - 2, constant.OldestRecentSeq);

        // Triggered lore is a one-off: its room goes back to the history for the trigger (some twenty turns here).
        Assert.InRange(triggered.HistoryCeilingSeq, 1, constant.OldestRecentSeq - 10);
    }

    [Fact]
    public void HeldPins_DoNotMoveTheSummaryTriggersCeiling()
    {
        // Recent turns pinned (held pins: the history's own ceiling would keep them) under a whole budget that
        // cuts the history: the prompt is the same as without the pins, and so is the trigger's ceiling (the
        // held pins' room was taken off the budget early, and the ceiling walk counts them among the turns).
        var window = LongChat(40);
        var budgets = new PromptBudgets(O200k, 500) { HistoryTokens = 100_000 };
        var plain = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [], PromptMemory.None, budgets);
        var pinned = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [window[^3], window[^5], window[^7]], PromptMemory.None, budgets);

        Assert.True(plain.OldestRecentSeq > window[0].Seq + 10, $"recent turns from {plain.OldestRecentSeq}");
        Assert.Equal(plain.Messages.Select(m => m.Text), pinned.Messages.Select(m => m.Text));
        Assert.InRange(plain.HistoryCeilingSeq, 1, plain.OldestRecentSeq);
        Assert.Equal(plain.HistoryCeilingSeq, pinned.HistoryCeilingSeq);
    }

    [Fact]
    public void FarOverItsCeiling_TheDefinitionIsCut_ScenarioThenPersonalityThenDescriptionThenPersona_TheSystemPromptLast()
    {
        string Words(string tag) => string.Join(' ', Enumerable.Range(0, 30).Select(i => $"{tag}{i}"));
        var definition = new CharacterPrompt("Ruby", "Quinn")
        {
            DefaultSystemPrompt = "SYSTEM0 Play Ruby SYSTEMEND.",
            Persona = Words("persona"),
            Description = Words("description"),
            Personality = Words("personality"),
            Scenario = Words("scenario"),
            ExampleDialogues = "<START>\n{{user}}: Hi\n{{char}}: Ahoy.",
            PostHistoryInstructions = "",
        };
        var order = new[] { "scenario", "personality", "description", "persona" };
        var whole = PromptBuilder.Assemble(definition, "ruby", [User(1, "Hi")], Names, [], PromptMemory.None, Roomy()).Messages[0].Text;
        Assert.All(order, tag => Assert.Contains($"{tag}29", whole));

        var seen = 0;
        for (var tokens = O200k.CountMessage(whole); tokens > 0; tokens -= 3)
        {
            var system = PromptBuilder.Assemble(definition, "ruby", [User(1, "Hi")], Names, [], PromptMemory.None, Roomy() with { DefinitionTokens = tokens }).Messages[0].Text;
            if (!system.Contains("personality29", StringComparison.Ordinal) || !system.Contains("scenario29", StringComparison.Ordinal))
            {
                // The example dialogues went before any of the rest.
                Assert.DoesNotContain("Ahoy.", system);
            }

            for (var later = 1; later < order.Length; later++)
            {
                if (!system.Contains($"{order[later]}29", StringComparison.Ordinal))
                {
                    // A part is cut only once every part cut before it is gone.
                    Assert.All(order[..later], earlier => Assert.DoesNotContain($"{earlier}0", system));
                }
            }

            if (!system.Contains("SYSTEMEND", StringComparison.Ordinal))
            {
                Assert.All(order, tag => Assert.DoesNotContain($"{tag}0", system));
            }

            if (system.Contains("SYSTEM0", StringComparison.Ordinal) && !system.Contains("persona0", StringComparison.Ordinal))
            {
                seen++;
            }
        }

        Assert.True(seen > 0, "no size kept the system prompt alone");
    }

    [Fact]
    public void GroupChat_ACharacterWithoutAKnownName_IsPrefixedWithItsId()
    {
        var window = new[] { User(1, "Hi all"), Said(2, "cyd", "Yo."), Said(3, "bob", "Hey!") };

        var prompt = PromptBuilder.Assemble(Ruby, "ruby", window, Names, [], PromptMemory.None, Roomy());

        Assert.Equal(
            [(ChatRole.User, "Hi all"), (ChatRole.User, "cyd: Yo."), (ChatRole.User, "Bob: Hey!")],
            prompt.Messages.Skip(1).SkipLast(1).Select(m => (m.Role, m.Text)));
    }

    [Fact]
    public void AnEmptyWindow_OrNoBudget_StillSendsTheDefinition_WithoutThrowing()
    {
        var empty = PromptBuilder.Assemble(Ruby, "ruby", [], Names, [], PromptMemory.None, Roomy() with { HistoryTokens = 0 });

        Assert.Equal(
            [(ChatRole.System, "Play Ruby.\n\nA pirate.\n\nThe user is Quinn. A sailor.\n\nScenario: At sea."), (ChatRole.System, "Stay in character.")],
            empty.Messages.Select(m => (m.Role, m.Text)));

        // Only failed turns (nothing the model should see) and no budget at all: still a prompt, with the system message first.
        var none = PromptBuilder.Assemble(Ruby, "ruby", [Said(1, "ruby", " ")], Names, [], Everything, new PromptBudgets(O200k, 0));
        Assert.Equal(ChatRole.System, none.Messages[0].Role);
        Assert.DoesNotContain(none.Messages, m => m.Role != ChatRole.System);
    }

    [Fact]
    public void WhileTheDefinitionIsCut_ThePostHistoryInstructionsAreKept()
    {
        var definition = Ruby with
        {
            Description = string.Join(' ', Enumerable.Range(0, 300).Select(i => $"trait{i}")),
            PostHistoryInstructions = "Be brief.",
        };

        var prompt = PromptBuilder.Assemble(definition, "ruby", [User(1, "Hi")], Names, [], PromptMemory.None, Roomy() with { DefinitionTokens = 60 });

        Assert.DoesNotContain("trait299", prompt.Messages[0].Text);
        Assert.StartsWith("Play Ruby.", prompt.Messages[0].Text);
        Assert.Equal((ChatRole.System, "Be brief."), (prompt.Messages[^1].Role, prompt.Messages[^1].Text));
        Assert.Equal((ChatRole.User, "Hi"), (prompt.Messages[^2].Role, prompt.Messages[^2].Text));
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

    /// <summary>
    /// The assembler keeps a definition's expanded sections and their token counts with the definition instance
    /// (a warm chat passes the same one reply after reply): the same instance counted by another tokenizer, or
    /// over a budget that cuts it, gives exactly what a fresh equal instance gives.
    /// </summary>
    [Fact]
    public void TheSameDefinitionInstance_ReusedAcrossTokenizersAndBudgets_GivesWhatAFreshOneGives()
    {
        var window = LongChat(12);
        var kept = Ruby with { Description = "{{char}} sails with {{user}}. " + string.Join(' ', Enumerable.Repeat("The Gull is fast.", 40)) };
        foreach (var budgets in new[] { Roomy(), Roomy(PromptTokenizer.Estimate), new PromptBudgets(O200k, 400), new PromptBudgets(PromptTokenizer.Estimate, 300), Roomy() })
        {
            var fresh = kept with { };
            Assert.NotSame(kept, fresh);

            var reused = PromptBuilder.Assemble(kept, "ruby", window, Names, [], Everything, budgets);
            var expected = PromptBuilder.Assemble(fresh, "ruby", window, Names, [], Everything, budgets);

            Assert.Equal(expected.Messages.Select(m => (m.Role, m.Text)), reused.Messages.Select(m => (m.Role, m.Text)));
            Assert.Equal(expected.SectionTokens, reused.SectionTokens);
            Assert.Equal(expected.TotalTokens, reused.TotalTokens);
            Assert.Equal(Recount(reused.Messages, budgets.Tokenizer), reused.TotalTokens);
        }
    }
}
