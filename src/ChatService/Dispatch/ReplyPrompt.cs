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
        return PromptBuilder.Build(
            definition,
            speaker.Id,
            context.WindowOldestFirst.Select(ToPromptTurn).ToList(),
            context.Cast.ToDictionary(c => c.Key, c => c.Value.DisplayName),
            options.PromptBudgetChars,
            context.Pinned.Select(ToPromptTurn).ToList(),
            options.PinnedBudgetChars,
            options.DefinitionBudgetChars);
    }

    private static PromptTurn ToPromptTurn(ChatTurn turn) => new(turn.Role == AuthorRole.User, turn.CharacterId, turn.Text, turn.Seq);
}
