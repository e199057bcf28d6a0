using System.Text.RegularExpressions;

namespace ChatService.Chats;

/// <summary>
/// Checks a lorebook against <see cref="LoreLimits"/> field by field, before anything is written:
/// the first problem is reported with the path of the field (<c>entries[3].keys[0]</c>) through
/// the caller's <c>fail</c>, so the API names its request field and a card import its JSON path.
/// A regular-expression key that does not compile is refused here, never met by a reply.
/// </summary>
public static class LorebookRules
{
    /// <summary>Checks <paramref name="book"/>; <paramref name="fail"/> makes the exception for a field path (relative to the book) and a problem.</summary>
    public static void Check(Lorebook book, Func<string, string, Exception> fail)
    {
        Text(book.Name, "name", LoreLimits.MaxNameChars, fail, required: true, singleLine: true);
        Text(book.Description, "description", LoreLimits.MaxDescriptionChars, fail);
        Range(book.ScanDepth, "scan_depth", 1, LoreLimits.MaxScanDepth, fail);
        Range(book.TokenBudget, "token_budget", 0, LoreLimits.MaxTokenBudget, fail);
        if (book.Entries.Count > LoreLimits.MaxEntries)
        {
            throw fail("entries", $"a lorebook has at most {LoreLimits.MaxEntries} entries, got {book.Entries.Count}");
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        long content = 0;
        for (var i = 0; i < book.Entries.Count; i++)
        {
            var entry = book.Entries[i];
            var at = $"entries[{i}]";
            if (entry.Id.Length == 0 || entry.Id.Length > LoreLimits.MaxEntryIdChars || !entry.Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                throw fail($"{at}.entry_id", $"an entry id is 1..{LoreLimits.MaxEntryIdChars} ASCII letters, digits, '-' or '_', got \"{Chats.Text.Preview(entry.Id, 40)}\"");
            }

            if (!ids.Add(entry.Id))
            {
                throw fail($"{at}.entry_id", $"entry id \"{entry.Id}\" is used by an earlier entry");
            }

            Text(entry.Comment, $"{at}.comment", LoreLimits.MaxCommentChars, fail);
            Text(entry.Content, $"{at}.content", LoreLimits.MaxContentChars, fail);
            content += entry.Content.Length;
            if (!entry.Constant && entry.Enabled && entry.Keys.Count == 0)
            {
                throw fail($"{at}.keys", "an enabled entry that is not constant needs at least one key");
            }

            Keys(entry, entry.Keys, $"{at}.keys", fail);
            Keys(entry, entry.SecondaryKeys, $"{at}.secondary_keys", fail);
            Range(entry.Depth, $"{at}.depth", 0, LoreLimits.MaxDepth, fail);
            if (entry.ScanDepth is { } scanDepth)
            {
                Range(scanDepth, $"{at}.scan_depth", 1, LoreLimits.MaxScanDepth, fail);
            }

            if (!Enum.IsDefined(entry.Position))
            {
                throw fail($"{at}.position", $"unknown position {(int)entry.Position}");
            }
        }

        if (content > LoreLimits.MaxBookContentChars)
        {
            throw fail("entries", $"the entries' content is {content} characters in all; a lorebook holds at most {LoreLimits.MaxBookContentChars}");
        }
    }

    private static void Keys(LoreEntry entry, IReadOnlyList<string> keys, string field, Func<string, string, Exception> fail)
    {
        if (keys.Count > LoreLimits.MaxKeysPerEntry)
        {
            throw fail(field, $"an entry has at most {LoreLimits.MaxKeysPerEntry} keys here, got {keys.Count}");
        }

        for (var k = 0; k < keys.Count; k++)
        {
            var key = keys[k];
            if (string.IsNullOrWhiteSpace(key))
            {
                throw fail($"{field}[{k}]", "a key must not be empty");
            }

            if (key.Length > LoreLimits.MaxKeyChars)
            {
                throw fail($"{field}[{k}]", $"a key is at most {LoreLimits.MaxKeyChars} characters, got {key.Length}");
            }

            if (LoreKey.Parse(key, entry) is { Pattern: { } pattern } parsed)
            {
                if (parsed.Problem is { } problem)
                {
                    throw fail($"{field}[{k}]", problem);
                }

                try
                {
                    _ = LoreKey.Compile(pattern, parsed.Options);
                }
                catch (ArgumentException ex)
                {
                    throw fail($"{field}[{k}]", $"not a valid regular expression: {ex.Message}");
                }
            }
        }
    }

    private static void Text(string value, string field, int maxChars, Func<string, string, Exception> fail, bool required = false, bool singleLine = false)
    {
        if (required && string.IsNullOrWhiteSpace(value))
        {
            throw fail(field, "must not be empty");
        }

        if (value.Length > maxChars)
        {
            throw fail(field, $"must be at most {maxChars} characters, got {value.Length}");
        }

        if (singleLine && value.Any(char.IsControl))
        {
            throw fail(field, "must not contain control characters (such as line breaks)");
        }
    }

    private static void Range(int value, string field, int min, int max, Func<string, string, Exception> fail)
    {
        if (value < min || value > max)
        {
            throw fail(field, $"must be {min}..{max}, got {value}");
        }
    }
}

/// <summary>
/// A key as matching reads it: a word (<see cref="Pattern"/> null), or a regular expression, either
/// because its entry says every key is one or because it is written <c>/pattern/flags</c> (flags
/// <c>i</c>, <c>m</c>, <c>s</c>, <c>x</c>, and <c>g</c>/<c>u</c>, which change nothing here).
/// </summary>
public sealed record LoreKey(string Word, string? Pattern, RegexOptions Options, string? Problem)
{
    public static LoreKey Parse(string key, LoreEntry entry)
    {
        var caseOption = entry.CaseSensitive ? RegexOptions.None : RegexOptions.IgnoreCase;
        var last = key.LastIndexOf('/');
        if (key.Length >= 3 && key[0] == '/' && last > 0)
        {
            var options = RegexOptions.None;
            foreach (var flag in key.AsSpan(last + 1))
            {
                switch (flag)
                {
                    case 'i': options |= RegexOptions.IgnoreCase; break;
                    case 'm': options |= RegexOptions.Multiline; break;
                    case 's': options |= RegexOptions.Singleline; break;
                    case 'x': options |= RegexOptions.IgnorePatternWhitespace; break;
                    case 'g' or 'u': break;
                    default:
                        return new LoreKey(key, key[1..last], options, $"unknown regular expression flag '{flag}' (i, m, s, x, g and u are known)");
                }
            }

            return new LoreKey(key, key[1..last], options, null);
        }

        return entry.UseRegex ? new LoreKey(key, key, caseOption, null) : new LoreKey(key, null, caseOption, null);
    }

    /// <summary>
    /// The expression compiled with a match timeout: without backtracking where .NET can (matching in
    /// time linear in the text), with backtracking only for what needs it (lookarounds, backreferences).
    /// Throws <see cref="ArgumentException"/> for a pattern that is not one.
    /// </summary>
    public static Regex Compile(string pattern, RegexOptions options)
    {
        try
        {
            return new Regex(pattern, options | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, LoreLimits.RegexTimeout);
        }
        catch (NotSupportedException)
        {
            return new Regex(pattern, options | RegexOptions.CultureInvariant, LoreLimits.RegexTimeout);
        }
    }
}
