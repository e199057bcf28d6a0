using System.Globalization;
using System.Text;

namespace ChatService.Chats;

/// <summary>
/// What a chat title may hold, wherever one is set (CreateChat, UpdateChat, ForkChat, ImportChat's
/// request): at most <see cref="MaxLength"/> Unicode code points, counted as the service's other text
/// limits count them (<see cref="CharacterLimits.CodePoints"/>: an emoji is one character, not two
/// UTF-16 units), with no control characters and no invisible format characters.
/// </summary>
/// <remarks>
/// Titles are shown in lists beside other users' text and in exported files, so a title must not be able
/// to reorder what is shown after it (bidi overrides and isolates such as U+202E or U+2066, marks such as
/// U+200F), to hide text (zero-width spaces, word joiners, soft hyphens, tag characters) or to start
/// new lines (U+2028, U+2029). Two format characters stay allowed because real text needs them: the
/// zero-width joiner U+200D (emoji sequences such as a family, and Indic scripts) and the non-joiner
/// U+200C (Persian and others).
/// </remarks>
internal static class ChatTitles
{
    /// <summary>Most code points a title may have.</summary>
    public const int MaxLength = 200;

    /// <summary>The rule, for messages.</summary>
    public const string Rule = "at most 200 characters without control characters, bidi controls or other invisible format characters";

    /// <summary>
    /// Whether <paramref name="title"/> shows nothing: empty, or only white space, the two joiners and the letters
    /// drawn blank (<see cref="Blank"/>). Such a
    /// title is no title (a new chat without one is titled with its cast's names, a fork with its source's, an
    /// import with its file's). A caller who sends a non-empty one (CreateChat, ForkChat, ImportChat, UpdateChat)
    /// is refused; one the service would derive from a file is passed over for the next default instead.
    /// </summary>
    public static bool ShowsNothing(string title)
    {
        foreach (var rune in title.EnumerateRunes())
        {
            if (!Rune.IsWhiteSpace(rune) && rune.Value is not (0x200C or 0x200D) && !Blank(rune))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Characters that are letters or symbols, so a title may hold them (Korean text needs the Hangul fillers), but
    /// that are drawn as nothing: the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0, and the blank Braille
    /// pattern U+2800. A title of only these (and white space) shows nothing.
    /// </summary>
    private static bool Blank(Rune rune) => rune.Value is 0x115F or 0x1160 or 0x3164 or 0xFFA0 or 0x2800;

    /// <summary>Why <paramref name="title"/> cannot be a title, or null when it can.</summary>
    public static string? Problem(string title)
    {
        var length = CharacterLimits.CodePoints(title);
        if (length > MaxLength)
        {
            return $"has {length} characters; the most is {MaxLength}";
        }

        foreach (var rune in title.EnumerateRunes())
        {
            if (Refused(rune))
            {
                return string.Create(CultureInfo.InvariantCulture, $"holds U+{rune.Value:X4}, which a title may not hold (control characters, bidi controls and invisible format characters are refused)");
            }
        }

        return null;
    }

    /// <summary>The title of a chat given none (or one that shows nothing): its cast's names, as a preview of at most <see cref="MaxLength"/> characters.</summary>
    public static string OfCast(IEnumerable<string> names) => Text.Preview(string.Join(", ", names), MaxLength);

    /// <summary>
    /// <paramref name="text"/> made a title the rule accepts: refused characters dropped, cut to
    /// <see cref="MaxLength"/> code points. For titles the service derives (an imported character's name),
    /// which nobody can be asked to correct.
    /// </summary>
    public static string Clean(string text)
    {
        var kept = new StringBuilder(Math.Min(text.Length, MaxLength * 2));
        var count = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (count == MaxLength)
            {
                break;
            }

            if (!Refused(rune))
            {
                kept.Append(rune.ToString());
                count++;
            }
        }

        return kept.ToString();
    }

    /// <summary>Whether a title refuses <paramref name="rune"/>: controls, line and paragraph separators, and format characters but the two joiners.</summary>
    internal static bool Refused(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.Control or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => true,
        UnicodeCategory.Format => rune.Value is not (0x200C or 0x200D),
        _ => false,
    };
}
