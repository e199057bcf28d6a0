using ChatService.Chats;
using ChatService.Inference;

namespace ChatService.Dispatch;

/// <summary>The prompt of a reply, from its context as read when its generation starts.</summary>
internal static class ReplyPrompt
{
    /// <summary>
    /// The speaker's whole definition and the user's persona ahead of the pinned turns, what the chat
    /// remembers (<see cref="ReplyContext.Memory"/>) and the recent turns, and the speaker's post-history
    /// instructions after them (see <see cref="PromptBuilder.Assemble"/>), within the section ceilings of
    /// <paramref name="options"/> and the route's <paramref name="budget"/>. The creator notes are never part of it.
    /// </summary>
    /// <param name="prefill">
    /// For a continuation (ContinueReply): the reply's text so far, sent as the final assistant message so
    /// the model goes on from it; null for a reply generated from the start.
    /// </param>
    public static AssembledPrompt Build(ReplyContext context, DispatchOptions options, RoutePromptBudget budget, string? prefill = null)
    {
        var speaker = context.Speaker;
        return PromptBuilder.Assemble(
            Definition(speaker, context.Persona, options.SystemPrompt),
            speaker.Id,
            context.WindowOldestFirst.Where(InPrompt).Select(ToPromptTurn).ToList(),
            context.Cast.ToDictionary(c => c.Key, c => c.Value.DisplayName),
            context.Pinned.Where(InPrompt).Select(ToPromptTurn).ToList(),
            context.Memory,
            options.PromptBudgets(budget),
            prefill);
    }

    /// <summary>
    /// The speaker's definition as a prompt takes it: the same instance for the same character, persona and
    /// system prompt instances (a warm chat's definitions are kept copies, see <c>DefinitionTokens</c>), so the
    /// assembler's work on it (placeholders, sections, token counts) is done once per definition, not per reply.
    /// Records: an instance never changes, and a changed definition is a new instance read from storage.
    /// </summary>
    private static CharacterPrompt Definition(Character speaker, UserPersona? persona, string defaultSystemPrompt)
    {
        var slot = Definitions.GetValue(speaker, static _ => new DefinitionSlot());
        if (Volatile.Read(ref slot.Last) is { } last && ReferenceEquals(last.Persona, persona) && ReferenceEquals(last.DefaultSystemPrompt, defaultSystemPrompt))
        {
            return last.Prompt;
        }

        var prompt = new CharacterPrompt(speaker.DisplayName, persona?.Name ?? Macros.DefaultUserName)
        {
            DefaultSystemPrompt = defaultSystemPrompt,
            SystemPrompt = speaker.SystemPrompt,
            Persona = speaker.Persona,
            Description = speaker.Description,
            Personality = speaker.Personality,
            UserDescription = persona?.Description,
            Scenario = speaker.Scenario,
            ExampleDialogues = speaker.ExampleDialogues,
            PostHistoryInstructions = speaker.PostHistoryInstructions,
        };
        Volatile.Write(ref slot.Last, new KeptDefinition(persona, defaultSystemPrompt, prompt));
        return prompt;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Character, DefinitionSlot> Definitions = [];

    /// <summary>The last definition built for one character instance (a chat's speaker has one persona at a time).</summary>
    private sealed class DefinitionSlot
    {
        public KeptDefinition? Last;
    }

    private sealed record KeptDefinition(UserPersona? Persona, string DefaultSystemPrompt, CharacterPrompt Prompt);

    /// <summary>A reply withheld by moderation never reaches a model again (its text is not stored either, so it would be an empty message).</summary>
    private static bool InPrompt(ChatTurn turn) => turn.State != ReplyState.Filtered;

    private static PromptTurn ToPromptTurn(ChatTurn turn) => new(turn.Role == AuthorRole.User, turn.CharacterId, turn.Text, turn.Seq);
}
