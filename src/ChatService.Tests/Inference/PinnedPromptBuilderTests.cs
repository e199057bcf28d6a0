using ChatService.Inference;

namespace ChatService.Tests.Inference;

/// <summary>Pinned turns in a prompt: ahead of the recent turns, never repeated, oldest dropped first.</summary>
public sealed class PinnedPromptBuilderTests
{
    private static readonly Dictionary<string, string> Names = new() { ["ada"] = "Ada" };

    [Fact]
    public void PinsOlderThanTheKeptRecentTurns_GoAheadOfThem_WithinTheirBudget_OldestDroppedFirst()
    {
        var recent = new[] { User(50, "recent one"), User(51, "recent two") };
        var pinned = new[] { User(3, "pin three"), User(7, "pin seven"), User(9, "pin nine"), User(51, "recent two") };

        var prompt = PromptBuilder.Build("persona", "ada", recent, Names, 1000, pinned, "pin seven".Length + "pin nine".Length);

        Assert.Equal(["persona", "pin seven", "pin nine", "recent one", "recent two"], prompt.Select(m => m.Text));
    }

    [Fact]
    public void APinnedTurnDroppedFromTheRecentOnesByTheirBudget_ComesBackAsAPin()
    {
        var recent = new[] { User(10, "old but pinned"), User(11, new string('x', 90)) };

        var prompt = PromptBuilder.Build("persona", "ada", recent, Names, 100, [User(10, "old but pinned")], 100);

        Assert.Equal(["persona", "old but pinned", new string('x', 90)], prompt.Select(m => m.Text));
    }

    private static PromptTurn User(long seq, string text) => new(true, null, text, seq);
}
