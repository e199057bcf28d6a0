using System.Globalization;
using System.Text;

namespace ChatService.Chats;

/// <summary>
/// How a catalog query finds characters. Names, tags and queries are normalized alike: compatibility
/// decomposition (NFKD, so full-width letters and ligatures become plain ones), diacritics dropped
/// ("Éowyn" is "eowyn"), lowercase (invariant culture), and every run of characters that are not
/// letters or digits (spaces, punctuation, emoji) one space. A character is found by every prefix
/// of up to <see cref="MaxTermLength"/> characters of its normalized name, of each word of it, of each
/// tag and of each word of a tag; a query is one such prefix, so "ada", "love" and "ada lo" find
/// "Ada Lovelace", and "fic" finds the tag "Science Fiction". Words are split only where such
/// characters are, so scripts written without spaces are matched from the start of each run.
/// </summary>
public static class CharacterSearch
{
    /// <summary>The longest term, in characters (Unicode code points): the longest query.</summary>
    public const int MaxTermLength = 32;

    /// <summary>
    /// The most terms one character is stored under in a listing. A name of 100 characters and 20 tags of
    /// 32 come to about 1,000; past it the terms of the last tags are left out, so a commit stays far
    /// inside Spanner's mutation limit whatever a character carries.
    /// </summary>
    public const int MaxTerms = 1024;

    /// <summary>The terms a character is found by: "" (the whole listing) and the prefixes described above.</summary>
    public static IReadOnlySet<string> TermsOf(string displayName, IEnumerable<string> tags)
    {
        var terms = new HashSet<string>(StringComparer.Ordinal) { "" };
        foreach (var text in tags.Prepend(displayName))
        {
            var normalized = Normalize(text);
            foreach (var word in normalized.Split(' ', StringSplitOptions.RemoveEmptyEntries).Prepend(normalized))
            {
                if (!AddPrefixes(terms, word))
                {
                    return terms;
                }
            }
        }

        return terms;
    }

    /// <summary>The term a query is looked up as; empty when nothing of it is a letter or a digit (it finds nothing).</summary>
    public static string QueryTerm(string query) => Prefix(Normalize(query), MaxTermLength);

    /// <summary>Decomposed, without diacritics, lowercase, runs of other characters one space, trimmed.</summary>
    public static string Normalize(string text)
    {
        var normalized = new StringBuilder(text.Length);
        var gap = false;
        foreach (var rune in text.Normalize(NormalizationForm.FormKD).EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            if (!Rune.IsLetterOrDigit(rune) && category is not (UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark))
            {
                gap = true;
                continue;
            }

            if (gap && normalized.Length > 0)
            {
                normalized.Append(' ');
            }

            gap = false;
            normalized.Append(Rune.ToLowerInvariant(rune).ToString());
        }

        return normalized.ToString();
    }

    /// <summary>Adds every prefix of <paramref name="word"/> up to the longest term, but none that ends in a space (a query is trimmed); false once <see cref="MaxTerms"/> are reached.</summary>
    private static bool AddPrefixes(HashSet<string> terms, string word)
    {
        var prefix = new StringBuilder();
        var length = 0;
        foreach (var rune in word.EnumerateRunes())
        {
            if (++length > MaxTermLength)
            {
                break;
            }

            prefix.Append(rune.ToString());
            if (rune.Value != ' ')
            {
                terms.Add(prefix.ToString());
                if (terms.Count >= MaxTerms)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>The first <paramref name="maxRunes"/> characters, never splitting a surrogate pair; trimmed.</summary>
    private static string Prefix(string text, int maxRunes)
    {
        var length = 0;
        var runes = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (++runes > maxRunes)
            {
                break;
            }

            length += rune.Utf16SequenceLength;
        }

        return text[..length].TrimEnd();
    }
}
