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
        return PromptBuilder.Assemble(
            definition,
            speaker.Id,
            context.WindowOldestFirst.Where(InPrompt).Select(ToPromptTurn).ToList(),
            context.Cast.ToDictionary(c => c.Key, c => c.Value.DisplayName),
            context.Pinned.Where(InPrompt).Select(ToPromptTurn).ToList(),
            context.Memory,
            options.PromptBudgets(budget),
            prefill);
    }

    /// <summary>A reply withheld by moderation never reaches a model again (its text is not stored either, so it would be an empty message).</summary>
    private static bool InPrompt(ChatTurn turn) => turn.State != ReplyState.Filtered;

    private static PromptTurn ToPromptTurn(ChatTurn turn) => new(turn.Role == AuthorRole.User, turn.CharacterId, turn.Text, turn.Seq);
}
