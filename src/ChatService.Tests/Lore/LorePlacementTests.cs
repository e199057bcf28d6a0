using ChatService.Dispatch;
using ChatService.Inference;
using Microsoft.Extensions.AI;

namespace ChatService.Tests.Lore;

/// <summary>Where ReplyPrompt puts lore until the prompt assembler does: system messages at their positions, in ascending order.</summary>
public sealed class LorePlacementTests
{
    private static readonly ChatMessage[] Built =
    [
        new(ChatRole.System, "definition"),
        new(ChatRole.User, "u1"),
        new(ChatRole.Assistant, "a1"),
        new(ChatRole.User, "u2"),
        new(ChatRole.System, "post-history"),
    ];

    [Fact]
    public void EachPosition_GetsItsEntries_InAscendingOrder()
    {
        LoreInsertion L(string text, LorePosition position, int order, int depth = 0) => new(text, text, position, order, depth);

        var prompt = ReplyPrompt.WithLore(Built,
        [
            L("hist-2", LorePosition.BeforeHistory, 2),
            L("hist-1", LorePosition.BeforeHistory, 1),
            L("before-def", LorePosition.BeforeDefinition, 0),
            L("after-def", LorePosition.AfterDefinition, 0),
            L("depth-0", LorePosition.AtDepth, 0, 0),
            L("depth-2", LorePosition.AtDepth, 0, 2),
            L("depth-99", LorePosition.AtDepth, 0, 99),
        ]);

        Assert.Equal(
            ["before-def", "definition", "after-def", "hist-1", "hist-2", "depth-99", "u1", "depth-2", "a1", "u2", "depth-0", "post-history"],
            prompt.Select(m => m.Text));
        Assert.All(prompt.Where(m => m.Text.Contains('-', StringComparison.Ordinal) && m.Text != "post-history"), m => Assert.Equal(ChatRole.System, m.Role));
    }

    [Fact]
    public void NoLore_LeavesThePromptAsBuilt()
    {
        Assert.Same(Built, ReplyPrompt.WithLore(Built, []));
    }
}
