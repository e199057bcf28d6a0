using Microsoft.Extensions.AI;

namespace ChatService.Inference;

/// <summary>
/// Assembles the messages a backend sees for one character reply. The reply pipeline uses
/// <see cref="Assemble"/> (sections in priority order within a token budget); the <c>Build</c> overloads
/// lay out the same definition and turns within character budgets, as prompts were before token budgets.
/// </summary>
public static partial class PromptBuilder
{
    /// <summary>
    /// The persona as the system message, then the window oldest to newest: the speaking
    /// character's own turns as assistant messages, the user's as user messages, and other
    /// characters' turns (group chats) as user messages prefixed with <c>"DisplayName: "</c>, so
    /// the model can tell the speakers apart without breaking the user/assistant alternation
    /// chat templates expect of it.
    /// </summary>
    /// <param name="persona">The speaking character's persona; always sent whole.</param>
    /// <param name="speakerCharacterId">The character that is to reply.</param>
    /// <param name="windowOldestFirst">Recent turns, oldest first; the last is usually the one being answered.</param>
    /// <param name="characterNames">Display names by character id, for the group-chat prefixes (the id is used when missing).</param>
    /// <param name="maxChars">
    /// Budget for the window, in characters of message text including prefixes. The persona is
    /// not counted: it is always kept, and its size is bounded where characters are created.
    /// The newest turns that fit are kept and the oldest dropped first; the newest turn is always
    /// kept, cut from the front when it alone is over the budget.
    /// </param>
    public static IReadOnlyList<ChatMessage> Build(
        string persona,
        string speakerCharacterId,
        IReadOnlyList<PromptTurn> windowOldestFirst,
        IReadOnlyDictionary<string, string> characterNames,
        int maxChars) =>
        Build(persona, speakerCharacterId, windowOldestFirst, characterNames, maxChars, [], 0);

    /// <summary>
    /// As <see cref="Build(string, string, IReadOnlyList{PromptTurn}, IReadOnlyDictionary{string, string}, int)"/>,
    /// with the chat's pinned turns between the persona and the recent turns: those older than the
    /// oldest recent turn kept (a pinned turn kept among the recent ones is not repeated), oldest first,
    /// as many of the newest as fit <paramref name="pinnedMaxChars"/> (the oldest pins are dropped first;
    /// a pin is never cut).
    /// </summary>
    /// <param name="pinnedOldestFirst">The pinned turns before the reply, oldest first, with their <see cref="PromptTurn.Seq"/>.</param>
    /// <param name="pinnedMaxChars">Budget for the pinned turns, counted like <paramref name="maxChars"/> and apart from it.</param>
    public static IReadOnlyList<ChatMessage> Build(
        string persona,
        string speakerCharacterId,
        IReadOnlyList<PromptTurn> windowOldestFirst,
        IReadOnlyDictionary<string, string> characterNames,
        int maxChars,
        IReadOnlyList<PromptTurn> pinnedOldestFirst,
        int pinnedMaxChars)
    {
        ArgumentNullException.ThrowIfNull(persona);
        var messages = Turns(speakerCharacterId, windowOldestFirst, characterNames, maxChars, pinnedOldestFirst, pinnedMaxChars);
        messages.Insert(0, new ChatMessage(ChatRole.System, persona));
        return messages;
    }

    /// <summary>
    /// The pinned and recent turns as <see cref="Build(string, string, IReadOnlyList{PromptTurn}, IReadOnlyDictionary{string, string}, int, IReadOnlyList{PromptTurn}, int)"/>
    /// lays them out, oldest first, without anything ahead of them or after them.
    /// </summary>
    private static List<ChatMessage> Turns(
        string speakerCharacterId,
        IReadOnlyList<PromptTurn> windowOldestFirst,
        IReadOnlyDictionary<string, string> characterNames,
        int maxChars,
        IReadOnlyList<PromptTurn> pinnedOldestFirst,
        int pinnedMaxChars)
    {
        ArgumentNullException.ThrowIfNull(windowOldestFirst);
        ArgumentNullException.ThrowIfNull(characterNames);
        ArgumentNullException.ThrowIfNull(pinnedOldestFirst);
        ArgumentOutOfRangeException.ThrowIfNegative(maxChars);
        ArgumentOutOfRangeException.ThrowIfNegative(pinnedMaxChars);

        var kept = new List<ChatMessage>();
        var remaining = maxChars;

        // The oldest recent turn in the prompt: pinned turns from before it go ahead of the recent ones.
        var oldestKeptSeq = long.MaxValue;
        for (var i = windowOldestFirst.Count - 1; i >= 0; i--)
        {
            var turn = windowOldestFirst[i];
            if (string.IsNullOrWhiteSpace(turn.Text))
            {
                // A reply that failed before any text carries nothing the model should see.
                continue;
            }

            var (role, prefix) = Speaker(turn, speakerCharacterId, characterNames);
            var length = prefix.Length + turn.Text.Length;
            if (length <= remaining)
            {
                kept.Add(new ChatMessage(role, prefix + turn.Text));
                remaining -= length;
                oldestKeptSeq = turn.Seq;
                continue;
            }

            if (kept.Count == 0)
            {
                kept.Add(new ChatMessage(role, prefix + Tail(turn.Text, remaining - prefix.Length)));
                oldestKeptSeq = turn.Seq;
            }

            // Older turns are never kept once a newer one did not fit: the window stays contiguous.
            break;
        }

        var pinnedRemaining = pinnedMaxChars;
        for (var i = pinnedOldestFirst.Count - 1; i >= 0; i--)
        {
            var turn = pinnedOldestFirst[i];
            if (turn.Seq >= oldestKeptSeq || string.IsNullOrWhiteSpace(turn.Text))
            {
                continue;
            }

            var (role, prefix) = Speaker(turn, speakerCharacterId, characterNames);
            var length = prefix.Length + turn.Text.Length;
            if (length > pinnedRemaining)
            {
                // A pin longer than what is left of the budget is left out; an older, shorter one may still fit.
                continue;
            }

            kept.Add(new ChatMessage(role, prefix + turn.Text));
            pinnedRemaining -= length;
        }

        kept.Reverse();
        return kept;
    }

    private static (ChatRole Role, string Prefix) Speaker(
        PromptTurn turn, string speakerCharacterId, IReadOnlyDictionary<string, string> characterNames)
    {
        if (turn.IsUser)
        {
            return (ChatRole.User, "");
        }

        if (turn.CharacterId == speakerCharacterId)
        {
            return (ChatRole.Assistant, "");
        }

        var name = turn.CharacterId is { } id
            ? characterNames.TryGetValue(id, out var displayName) && !string.IsNullOrWhiteSpace(displayName) ? displayName : id
            : "Character";
        return (ChatRole.User, name + ": ");
    }

    /// <summary>The last <paramref name="maxChars"/> characters, never starting inside a surrogate pair.</summary>
    private static string Tail(string text, int maxChars)
    {
        if (maxChars <= 0)
        {
            return "";
        }

        if (text.Length <= maxChars)
        {
            return text;
        }

        var start = text.Length - maxChars;
        if (char.IsLowSurrogate(text[start]))
        {
            start++;
        }

        return text[start..];
    }
}
