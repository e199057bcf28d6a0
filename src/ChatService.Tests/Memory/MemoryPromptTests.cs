using ChatService.Dispatch;
using ChatService.Inference;
using Microsoft.Extensions.AI;

namespace ChatService.Tests.Memory;

/// <summary>Where <see cref="ReplyPrompt.WithMemory"/> puts the note and the summary in a built prompt.</summary>
public sealed class MemoryPromptTests
{
    // Definition, two pins, three recent turns, post-history instructions.
    private static readonly ChatMessage[] Prompt =
    [
        new(ChatRole.System, "definition"),
        new(ChatRole.User, "pin 1"),
        new(ChatRole.Assistant, "pin 2"),
        new(ChatRole.User, "u1"),
        new(ChatRole.Assistant, "a1"),
        new(ChatRole.User, "u2"),
        new(ChatRole.System, "post-history"),
    ];

    private static string[] Texts(IEnumerable<ChatMessage> messages) => [.. messages.Select(m => m.Role == ChatRole.System ? $"[{m.Text}]" : m.Text)];

    [Fact]
    public void NoteAndSummary_GoAfterThePins_NoteFirst()
    {
        var memory = new PromptMemory { Note = "note", Summary = "story", SummaryThroughSeq = 10 };
        Assert.Equal(
            ["[definition]", "pin 1", "pin 2", "[note]", $"[{ReplyPrompt.SummaryLabel}story]", "u1", "a1", "u2", "[post-history]"],
            Texts(ReplyPrompt.WithMemory(Prompt, memory, firstTurn: 3)));
    }

    [Theory]
    [InlineData(0, new[] { "[definition]", "u1", "a1", "u2", "[note]", "[post-history]" })]
    [InlineData(1, new[] { "[definition]", "u1", "a1", "[note]", "u2", "[post-history]" })]
    [InlineData(3, new[] { "[definition]", "[note]", "u1", "a1", "u2", "[post-history]" })]
    [InlineData(50, new[] { "[definition]", "[note]", "u1", "a1", "u2", "[post-history]" })]
    public void ANoteAtADepth_IsThatManyMessagesAboveTheNewest_NeverAboveTheTurns(int depth, string[] expected)
    {
        ChatMessage[] prompt = [Prompt[0], Prompt[3], Prompt[4], Prompt[5], Prompt[6]];
        Assert.Equal(expected, Texts(ReplyPrompt.WithMemory(prompt, new PromptMemory { Note = "note", NoteDepth = depth }, firstTurn: 1)));
    }

    [Fact]
    public void WithoutPostHistoryInstructions_DepthZeroIsLast_AndTheSummaryStaysAhead()
    {
        ChatMessage[] prompt = [Prompt[0], Prompt[3], Prompt[4], Prompt[5]];
        var memory = new PromptMemory { Note = "note", NoteDepth = 0, Summary = "story", SummaryThroughSeq = 4 };
        Assert.Equal(
            ["[definition]", $"[{ReplyPrompt.SummaryLabel}story]", "u1", "a1", "u2", "[note]"],
            Texts(ReplyPrompt.WithMemory(prompt, memory, firstTurn: 1)));
    }
}
