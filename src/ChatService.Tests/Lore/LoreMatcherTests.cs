using ChatService.Chats;
using ChatService.Inference;

namespace ChatService.Tests.Lore;

/// <summary>Which entries a reply's newest messages trigger: whole words, case, regular expressions (and their time limit), scan depth, disabled and constant entries.</summary>
public sealed class LoreMatcherTests
{
    private static LoreEntry Entry(string id, params string[] keys) => new(id) { Keys = keys, Content = $"lore {id}" };

    /// <summary>The entries of one book triggered by <paramref name="newestFirst"/>; <paramref name="budget"/> is the book's own token budget (0: none).</summary>
    private static IReadOnlyList<string> Triggered(IReadOnlyList<string> newestFirst, int budget = 0, int scanDepth = LoreLimits.DefaultScanDepth, params LoreEntry[] entries) =>
        LoreMatcher.Select([CompiledLorebook.Compile(new Lorebook("b", "u", "Book") { Entries = entries, ScanDepth = scanDepth, TokenBudget = budget })], newestFirst, "Char", "User")
            .Select(i => i.EntryId["b/".Length..])
            .Order(StringComparer.Ordinal)
            .ToList();

    [Fact]
    public void WordKeys_MatchWholeWords_CaseInsensitively_ByDefault()
    {
        var dragon = Entry("dragon", "dragon");

        Assert.Equal(["dragon"], Triggered(["A DRAGON appears!"], entries: dragon));
        Assert.Equal(["dragon"], Triggered(["dragon"], entries: dragon));
        Assert.Equal(["dragon"], Triggered(["(dragon)"], entries: dragon));
        Assert.Empty(Triggered(["dragonfly season"], entries: dragon));
        Assert.Empty(Triggered(["snapdragon"], entries: dragon));
        Assert.Empty(Triggered(["dragon_slayer"], entries: dragon));
        Assert.Equal(["dragon"], Triggered(["the snapdragon and the dragon"], entries: dragon));
    }

    [Fact]
    public void CaseSensitiveKeys_AndMatchAnywhere_AreHonoured()
    {
        var sensitive = Entry("s", "Kestrel") with { CaseSensitive = true };
        var anywhere = Entry("a", "fly") with { MatchWholeWords = false };

        Assert.Equal(["s"], Triggered(["the Kestrel flies"], entries: sensitive));
        Assert.Empty(Triggered(["the kestrel flies"], entries: sensitive));
        Assert.Equal(["a"], Triggered(["dragonfly"], entries: anywhere));
    }

    [Fact]
    public void RegexKeys_SlashFormWithFlags_OrTheEntrysFlag_Match()
    {
        var slash = Entry("slash", "/quantum|particle/i");
        var flagged = Entry("flag", "^Hello, w.rld$") with { UseRegex = true, CaseSensitive = true };

        Assert.Equal(["slash"], Triggered(["PARTICLE physics"], entries: slash));
        Assert.Empty(Triggered(["a wave"], entries: slash));
        Assert.Equal(["flag"], Triggered(["Hello, world"], entries: flagged));
        Assert.Empty(Triggered(["hello, world"], entries: flagged));
    }

    [Fact]
    public void ARegexThatRunsOutOfTime_IsNoMatch_AndIsReported()
    {
        // A lookahead needs the backtracking engine, and (a+)+$ over many a's and a '!' backtracks exponentially.
        var slow = Entry("slow", "/(?=^(a+)+$)/") with { };
        var quick = Entry("quick", "boom");
        var reported = new List<string>();
        var book = new Lorebook("b", "u", "Book") { Entries = [slow, quick] };

        var lore = LoreMatcher.Select([CompiledLorebook.Compile(book)], [new string('a', 40) + "! boom"], "Char", "User", (b, e) => reported.Add($"{b}/{e}"));

        Assert.Equal(["b/quick"], lore.Select(l => l.EntryId));
        Assert.Equal(["b/slow"], reported);
    }

    [Fact]
    public void PastAFewTimeouts_RegexEntriesAreSkipped_SoAHostileBookCostsAReplyLittle()
    {
        var slow = Enumerable.Range(0, 10).Select(i => Entry($"slow{i}", "/(?=^(a+)+$)/")).ToList();
        var words = Entry("word", "boom");
        var reported = new List<string>();
        var book = new Lorebook("b", "u", "Book") { Entries = [.. slow, words] };
        var started = System.Diagnostics.Stopwatch.StartNew();

        var lore = LoreMatcher.Select([CompiledLorebook.Compile(book)], [new string('a', 40) + "! boom", new string('a', 40) + "!"], "C", "U", (_, e) => reported.Add(e));

        Assert.Equal(["b/word"], lore.Select(l => l.EntryId));
        // Each of the first three timed out on its first message; the rest were not run.
        Assert.Equal(["slow0", "slow1", "slow2"], reported);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(2), $"took {started.Elapsed}");
    }

    [Fact]
    public void ScanDepth_LimitsWhichOfTheNewestMessagesAreScanned_PerBookAndPerEntry()
    {
        var dragon = Entry("dragon", "dragon");
        var deep = Entry("deep", "dragon") with { ScanDepth = 3 };
        string[] newestFirst = ["hello", "we walk on", "a dragon!", "more"];

        Assert.Equal(["deep"], Triggered(newestFirst, entries: [dragon, deep]));
        Assert.Equal(["deep", "dragon"], Triggered(newestFirst, scanDepth: 3, entries: [dragon, deep]));
        Assert.Equal(["deep", "dragon"], Triggered(["dragon"], entries: [dragon, deep]));
    }

    [Fact]
    public void DisabledEntries_NeverEnter_ConstantOnesAlways_SelectiveOnesNeedASecondaryKey()
    {
        var disabled = Entry("off", "dragon") with { Enabled = false };
        var constant = new LoreEntry("always") { Constant = true, Content = "always here" };
        var selective = Entry("sel", "dragon") with { Selective = true, SecondaryKeys = ["red", "blue"] };

        Assert.Equal(["always"], Triggered(["nothing"], entries: [disabled, constant, selective]));
        Assert.Equal(["always"], Triggered(["a green dragon"], entries: [disabled, constant, selective]));
        Assert.Equal(["always", "sel"], Triggered(["a red dragon"], entries: [disabled, constant, selective]));
    }

    [Fact]
    public void Contents_HaveTheirMacrosExpanded_AndKeepPositionOrderAndDepth()
    {
        var entry = new LoreEntry("e") { Constant = true, Content = "{{char}} knows {{user}}.", Position = LorePosition.AtDepth, Order = 7, Depth = 2 };

        var lore = LoreMatcher.Select([CompiledLorebook.Compile(new Lorebook("b", "u", "Book") { Entries = [entry] })], [], "Mara", "Quinn");

        Assert.Equal(new LoreInsertion("b/e", "Mara knows Quinn.", LorePosition.AtDepth, 7, 2, Constant: true), Assert.Single(lore));

        // A keyed entry its messages triggered is not constant (the summary trigger gives its room back).
        var keyed = Entry("k", "dragon") with { Content = "Dragons." };
        var triggered = LoreMatcher.Select([CompiledLorebook.Compile(new Lorebook("b", "u", "Book") { Entries = [keyed] })], ["a dragon"], "Mara", "Quinn");
        Assert.False(Assert.Single(triggered).Constant);
    }

    [Fact]
    public void OverABooksOwnBudget_TheLowestOrdersGoFirst()
    {
        // Each content is 40 characters: 10 estimated tokens.
        LoreEntry Sized(string id, int order) => new(id) { Constant = true, Content = new string('x', 40), Order = order };
        var entries = new[] { Sized("low", 1), Sized("mid", 50), Sized("high", 100) };

        Assert.Equal(["high", "low", "mid"], Triggered([], budget: 30, entries: entries));
        Assert.Equal(["high", "mid"], Triggered([], budget: 29, entries: entries));
        Assert.Equal(["high"], Triggered([], budget: 10, entries: entries));
        Assert.Empty(Triggered([], budget: 9, entries: entries));

        var ownBudget = LoreMatcher.Select(
            [CompiledLorebook.Compile(new Lorebook("b", "u", "Book") { Entries = entries, TokenBudget = 20 })], [], "C", "U");
        Assert.Equal(["b/mid", "b/high"], ownBudget.Select(l => l.EntryId));
    }

    [Fact]
    public void Budget_IsAPureFunction_KeepingTheGivenOrder()
    {
        LoreInsertion At(string id, int order, int chars) => new(id, new string('y', chars), LorePosition.BeforeHistory, order, 0);
        var insertions = new[] { At("a", 5, 40), At("b", -3, 40), At("c", 5, 4), At("d", 9, 40) };
        static int Cost(LoreInsertion i) => i.Text.Length / 4;

        Assert.Same(insertions, LoreBudget.Apply(insertions, 31, Cost));
        Assert.Equal(["a", "c", "d"], LoreBudget.Apply(insertions, 21, Cost).Select(i => i.EntryId));
        // Equal orders: the lower entry id goes first, as the prompt assembler lays them out (ascending order, then id).
        Assert.Equal(["c", "d"], LoreBudget.Apply(insertions, 20, Cost).Select(i => i.EntryId));
        Assert.Empty(LoreBudget.Apply(insertions, 0, Cost));
        Assert.Equal(["b", "a", "c", "d"], LoreBudget.InOrder(insertions).Select(i => i.EntryId));
    }

    [Fact]
    public void TheCompiler_CompilesABookOncePerVersion()
    {
        var compiler = new LoreCompiler();
        var v1 = new Lorebook("b", "u", "Book") { Entries = [Entry("e", "/x+/")] };

        var first = compiler.Get(v1);

        Assert.Same(first, compiler.Get(v1 with { }));
        Assert.NotSame(first, compiler.Get(v1 with { Version = 2 }));
    }

    /// <summary>A compiled book keeps each entry's expanded content for the last names it was asked with: other names get their own.</summary>
    [Fact]
    public void ACompiledBook_ExpandsItsContent_ForTheNamesOfEachReply()
    {
        var book = CompiledLorebook.Compile(new Lorebook("b", "u", "Book")
        {
            Entries = [new LoreEntry("e") { Keys = ["ship"], Content = "{{char}} owes {{user}} a ship." }],
        });

        string Content(string character, string user) => Assert.Single(LoreMatcher.Select([book], ["the ship"], character, user)).Text;

        Assert.Equal("Ruby owes Quinn a ship.", Content("Ruby", "Quinn"));
        Assert.Equal("Ruby owes Quinn a ship.", Content("Ruby", "Quinn"));
        Assert.Equal("Ruby owes Sam a ship.", Content("Ruby", "Sam"));
        Assert.Equal("Bob owes Sam a ship.", Content("Bob", "Sam"));
        Assert.Equal("Ruby owes Quinn a ship.", Content("Ruby", "Quinn"));
    }
}
