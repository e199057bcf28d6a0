using ChatService.Chats;
using ChatService.Inference;
using Microsoft.Extensions.AI;

namespace ChatService.Dispatch;

/// <summary>The prompt of a reply, from its context as read when its generation starts.</summary>
internal static class ReplyPrompt
{
    /// <summary>
    /// The speaker's whole definition and the user's persona ahead of the pinned and recent turns,
    /// and the speaker's post-history instructions after them (see <see cref="PromptBuilder"/>), within
    /// the budgets of <paramref name="options"/>. The creator notes are never part of it.
    /// </summary>
    public static IReadOnlyList<ChatMessage> Build(ReplyContext context, DispatchOptions options)
    {
        var speaker = context.Speaker;
        var definition = new CharacterPrompt(speaker.DisplayName, context.Persona?.Name ?? Macros.DefaultUserName)
        {
            DefaultSystemPrompt = options.SystemPrompt,
            SystemPrompt = speaker.SystemPrompt,
            Persona = speaker.Persona,
            Description = speaker.Description,
            Personality = speaker.Personality,
            UserDescription = context.Persona?.Description,
            Scenario = speaker.Scenario,
            ExampleDialogues = speaker.ExampleDialogues,
            PostHistoryInstructions = speaker.PostHistoryInstructions,
        };
        var turns = context.WindowOldestFirst.Select(ToPromptTurn).ToList();
        var names = context.Cast.ToDictionary(c => c.Key, c => c.Value.DisplayName);
        var prompt = PromptBuilder.Build(
            definition, speaker.Id, turns, names, options.PromptBudgetChars,
            context.Pinned.Select(ToPromptTurn).ToList(), options.PinnedBudgetChars, options.DefinitionBudgetChars);
        if (string.IsNullOrEmpty(context.Memory.Note) && string.IsNullOrEmpty(context.Memory.Summary))
        {
            return prompt;
        }

        // Where the recent turns begin: the same build without the pins is shorter by the pins it kept.
        var withoutPins = PromptBuilder.Build(definition, speaker.Id, turns, names, options.PromptBudgetChars, [], 0, options.DefinitionBudgetChars);
        return WithMemory(prompt, context.Memory, firstTurn: 1 + prompt.Count - withoutPins.Count);
    }

    /// <summary>The prefix of the summary's system message.</summary>
    public const string SummaryLabel = "Summary of the earlier conversation:\n";

    /// <summary>
    /// Stand-in until the prompt assembler places <see cref="PromptMemory"/> itself: the summary as a
    /// system message (<see cref="SummaryLabel"/> + text) right ahead of the recent turns (after the
    /// definition and the pins), and the memory note as a system message of its own text either ahead of
    /// the summary (depth null) or <see cref="PromptMemory.NoteDepth"/> messages above the newest turn
    /// (0: after it; never above the recent turns, nor after the post-history instructions).
    /// </summary>
    /// <param name="firstTurn">Index of the first recent turn in <paramref name="prompt"/> (after the definition and the pins).</param>
    internal static IReadOnlyList<ChatMessage> WithMemory(IReadOnlyList<ChatMessage> prompt, PromptMemory memory, int firstTurn)
    {
        var messages = prompt.ToList();

        // The turns end before the post-history instructions, the only system message after the definition.
        var endOfTurns = messages.Count > firstTurn && messages[^1].Role == ChatRole.System ? messages.Count - 1 : messages.Count;
        if (!string.IsNullOrEmpty(memory.Note) && memory.NoteDepth is { } depth)
        {
            messages.Insert(Math.Max(firstTurn, endOfTurns - depth), new ChatMessage(ChatRole.System, memory.Note));
        }

        var ahead = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(memory.Note) && memory.NoteDepth is null)
        {
            ahead.Add(new ChatMessage(ChatRole.System, memory.Note));
        }

        if (!string.IsNullOrEmpty(memory.Summary))
        {
            ahead.Add(new ChatMessage(ChatRole.System, SummaryLabel + memory.Summary));
        }

        messages.InsertRange(firstTurn, ahead);
        return messages;
    }

    private static PromptTurn ToPromptTurn(ChatTurn turn) => new(turn.Role == AuthorRole.User, turn.CharacterId, turn.Text, turn.Seq);
}
