using System.Text.RegularExpressions;

namespace ChatService.Chats;

/// <summary>
/// The placeholders a character's texts may use, replaced where the texts are used (a greeting when
/// it is recorded, every other text in each prompt), case-insensitively as SillyTavern does:
/// <c>{{char}}</c> is the character's display name, <c>{{user}}</c> the name of the user's persona
/// (<see cref="DefaultUserName"/> without one).
/// </summary>
public static partial class Macros
{
    /// <summary>What <c>{{user}}</c> becomes when the user has no persona.</summary>
    public const string DefaultUserName = "User";

    /// <summary>
    /// <paramref name="text"/> with <c>{{char}}</c> and <c>{{user}}</c> replaced, in one pass: a
    /// name that itself says <c>{{user}}</c> stays as it is.
    /// </summary>
    public static string Expand(string text, string characterName, string userName) =>
        text.Contains("{{", StringComparison.Ordinal)
            ? Placeholder().Replace(text, m => m.Groups[1].Value.Equals("char", StringComparison.OrdinalIgnoreCase) ? characterName : userName)
            : text;

    /// <summary>
    /// A character's system prompt or post-history instructions with <c>{{original}}</c> replaced by
    /// <paramref name="original"/> (what the service would have used without the character's own
    /// text, as the Character Card spec has it), before <see cref="Expand"/>.
    /// </summary>
    public static string ExpandOriginal(string text, string original) =>
        text.Contains("{{", StringComparison.Ordinal) ? Original().Replace(text, _ => original) : text;

    [GeneratedRegex(@"\{\{(char|user)\}\}", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"\{\{original\}\}", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Original();
}
