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
        var messages = PromptBuilder.Build(
            definition,
            speaker.Id,
            context.WindowOldestFirst.Select(ToPromptTurn).ToList(),
            context.Cast.ToDictionary(c => c.Key, c => c.Value.DisplayName),
            options.PromptBudgetChars,
            context.Pinned.Select(ToPromptTurn).ToList(),
            options.PinnedBudgetChars,
            options.DefinitionBudgetChars);
        return WithLore(messages, context.Memory.Lore);
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
