using ChatService.Chats;

namespace ChatService.Tests.Lore;

/// <summary>A lorebook is checked field by field before it is written, each problem naming its field.</summary>
public sealed class LorebookRulesTests
{
    private static string? Problem(Lorebook book)
    {
        try
        {
            LorebookRules.Check(book, (path, problem) => new ArgumentException(problem, path));
            return null;
        }
        catch (ArgumentException ex)
        {
            return ex.ParamName;
        }
    }

    private static Lorebook Book(params LoreEntry[] entries) => new("b", "u", "Book") { Entries = entries };

    private static LoreEntry Entry(params string[] keys) => new("e1") { Keys = keys, Content = "c" };

    [Fact]
    public void AValidBook_Passes()
    {
        Assert.Null(Problem(Book(Entry("dragon", "/wyrm|drake/i", "/(?<=red )dragon/"), new LoreEntry("e2") { Constant = true, Content = "x" })));
    }

    [Theory]
    [InlineData("/[unclosed/", "entries[0].keys[0]")]
    [InlineData("/x/q", "entries[0].keys[0]")]
    [InlineData(" ", "entries[0].keys[0]")]
    public void BadKeys_AreNamed(string key, string field)
    {
        Assert.Equal(field, Problem(Book(Entry(key))));
    }

    [Fact]
    public void EachBound_NamesItsField()
    {
        Assert.Equal("name", Problem(Book() with { Name = " " }));
        Assert.Equal("name", Problem(Book() with { Name = "two\nlines" }));
        Assert.Equal("scan_depth", Problem(Book() with { ScanDepth = 0 }));
        Assert.Equal("token_budget", Problem(Book() with { TokenBudget = -1 }));
        Assert.Equal("entries", Problem(Book([.. Enumerable.Range(0, LoreLimits.MaxEntries + 1).Select(i => Entry("k") with { Id = $"e{i}" })])));
        Assert.Equal("entries[1].entry_id", Problem(Book(Entry("a"), Entry("b"))));
        Assert.Equal("entries[0].entry_id", Problem(Book(Entry("a") with { Id = "no spaces" })));
        Assert.Equal("entries[0].keys", Problem(Book(Entry())));
        Assert.Equal("entries[0].keys", Problem(Book(Entry([.. Enumerable.Range(0, LoreLimits.MaxKeysPerEntry + 1).Select(i => $"k{i}")]))));
        Assert.Equal("entries[0].secondary_keys[0]", Problem(Book(Entry("a") with { SecondaryKeys = ["/(/"] })));
        Assert.Equal("entries[0].content", Problem(Book(Entry("a") with { Content = new string('c', LoreLimits.MaxContentChars + 1) })));
        Assert.Equal("entries[0].depth", Problem(Book(Entry("a") with { Depth = -1 })));
        Assert.Equal("entries[0].scan_depth", Problem(Book(Entry("a") with { ScanDepth = LoreLimits.MaxScanDepth + 1 })));
        Assert.Equal("entries[0].position", Problem(Book(Entry("a") with { Position = (ChatService.Inference.LorePosition)9 })));

        // A disabled entry may lack keys (a card's entry with none is imported disabled).
        Assert.Null(Problem(Book(Entry() with { Enabled = false })));
    }
}
