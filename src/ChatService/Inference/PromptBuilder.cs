using Microsoft.Extensions.AI;

namespace ChatService.Inference;

/// <summary>
/// Assembles the messages a backend sees for one character reply: <see cref="Assemble"/> lays out the
/// sections in priority order within a token budget.
/// </summary>
public static partial class PromptBuilder
{
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
