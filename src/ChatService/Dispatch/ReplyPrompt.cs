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
        if (!string.IsNullOrEmpty(context.Memory.Note) || !string.IsNullOrEmpty(context.Memory.Summary))
        {
            // Where the recent turns begin: the same build without the pins is shorter by the pins it kept.
            var withoutPins = PromptBuilder.Build(definition, speaker.Id, turns, names, options.PromptBudgetChars, [], 0, options.DefinitionBudgetChars);
            prompt = WithMemory(prompt, context.Memory, firstTurn: 1 + prompt.Count - withoutPins.Count);
        }

        return WithLore(prompt, context.Memory.Lore);
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

    /// <summary>
    /// The lore entries of <see cref="ReplyContext.Memory"/> (already within the lore budget) as system
    /// messages, each position's in ascending order: before the definition message, right after it
    /// (after-definition entries, then before-history ones, ahead of the pinned and recent turns), and
    /// at-depth ones that many messages above the newest turn (ahead of the post-history instructions).
    /// Until the prompt assembler places lore itself, this is where it enters the prompt; it only adds
    /// messages to what <see cref="PromptBuilder"/> built.
    /// </summary>
    internal static IReadOnlyList<ChatMessage> WithLore(IReadOnlyList<ChatMessage> built, IReadOnlyList<LoreInsertion> lore)
    {
        if (lore.Count == 0 || built.Count == 0)
        {
            return built;
        }

        IEnumerable<ChatMessage> At(LorePosition position) => lore
            .Where(l => l.Position == position)
            .OrderBy(l => l.Order)
            .ThenBy(l => l.EntryId, StringComparer.Ordinal)
            .Select(l => new ChatMessage(ChatRole.System, l.Text));

        // built: the definition, the pinned and recent turns, and the post-history instructions when there are any.
        var end = built.Count > 1 && built[^1].Role == ChatRole.System ? built.Count - 1 : built.Count;
        var turns = built.Skip(1).Take(end - 1).ToList();
        var atDepth = lore
            .Where(l => l.Position == LorePosition.AtDepth)
            .OrderBy(l => l.Order)
            .ThenBy(l => l.EntryId, StringComparer.Ordinal)
            .ToLookup(l => Math.Clamp(turns.Count - Math.Max(0, l.Depth), 0, turns.Count));
        var messages = new List<ChatMessage>(built.Count + lore.Count);
        messages.AddRange(At(LorePosition.BeforeDefinition));
        messages.Add(built[0]);
        messages.AddRange(At(LorePosition.AfterDefinition));
        messages.AddRange(At(LorePosition.BeforeHistory));
        for (var i = 0; i <= turns.Count; i++)
        {
            messages.AddRange(atDepth[i].Select(l => new ChatMessage(ChatRole.System, l.Text)));
            if (i < turns.Count)
            {
                messages.Add(turns[i]);
            }
        }

        messages.AddRange(built.Skip(end));
        return messages;
    }

    private static PromptTurn ToPromptTurn(ChatTurn turn) => new(turn.Role == AuthorRole.User, turn.CharacterId, turn.Text, turn.Seq);
}
