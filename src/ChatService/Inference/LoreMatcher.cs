using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using ChatService.Chats;

namespace ChatService.Inference;

/// <summary>A lorebook with its keys ready to match: regular expressions compiled once per book version.</summary>
public sealed class CompiledLorebook
{
    private CompiledLorebook(Lorebook book, IReadOnlyList<CompiledEntry> entries)
    {
        Book = book;
        Entries = entries;
    }

    public Lorebook Book { get; }

    internal IReadOnlyList<CompiledEntry> Entries { get; }

    /// <summary>
    /// Compiles every enabled entry's keys. A key that does not compile (which a write refuses, so only
    /// a book stored by an older rule) is left out: a book never fails a reply.
    /// </summary>
    public static CompiledLorebook Compile(Lorebook book) => new(book, book.Entries
        .Where(e => e.Enabled && e.Content.Length > 0)
        .Select(e => new CompiledEntry(e, Keys(e, e.Keys), Keys(e, e.Selective ? e.SecondaryKeys : []), Math.Clamp(e.ScanDepth ?? book.ScanDepth, 1, LoreLimits.MaxScanDepth))
        {
            InsertionId = $"{book.Id}/{e.Id}",
        })
        .ToList());

    private static KeyMatcher[] Keys(LoreEntry entry, IReadOnlyList<string> keys)
    {
        var matchers = new List<KeyMatcher>(keys.Count);
        foreach (var key in keys.Where(k => !string.IsNullOrWhiteSpace(k)))
        {
            var parsed = LoreKey.Parse(key, entry);
            if (parsed.Pattern is null)
            {
                matchers.Add(new WordKey(key.Trim(), entry.CaseSensitive, entry.MatchWholeWords));
            }
            else if (parsed.Problem is null)
            {
                try
                {
                    matchers.Add(new RegexKey(LoreKey.Compile(parsed.Pattern, parsed.Options)));
                }
                catch (ArgumentException)
                {
                    // Refused at write time; one stored before the rule matches nothing.
                }
            }
        }

        return [.. matchers];
    }
}

/// <summary>
/// One entry with its keys compiled. A class, not a record: it keeps a mutable cache (<see cref="Content"/>), so
/// value equality over its fields would change as it is used; entries are compared by identity.
/// </summary>
internal sealed class CompiledEntry(LoreEntry entry, KeyMatcher[] keys, KeyMatcher[] secondaryKeys, int scanDepth)
{
    private Expansion? _expansion;

    public LoreEntry Entry { get; } = entry;

    public KeyMatcher[] Keys { get; } = keys;

    public KeyMatcher[] SecondaryKeys { get; } = secondaryKeys;

    public int ScanDepth { get; } = scanDepth;

    public bool HasRegex { get; } = keys.Concat(secondaryKeys).Any(k => k is RegexKey);

    /// <summary>The id its insertions carry: <c>book/entry</c>.</summary>
    public required string InsertionId { get; init; }

    /// <summary>
    /// The content with <c>{{char}}</c> and <c>{{user}}</c> replaced, kept for the last names asked (a book is
    /// compiled per replica and version, and a chat asks with the same names reply after reply).
    /// </summary>
    public string Content(string characterName, string userName)
    {
        var kept = Volatile.Read(ref _expansion);
        if (kept is null || kept.CharacterName != characterName || kept.UserName != userName)
        {
            kept = new Expansion(characterName, userName, Macros.Expand(Entry.Content, characterName, userName));
            Volatile.Write(ref _expansion, kept);
        }

        return kept.Text;
    }

    private sealed record Expansion(string CharacterName, string UserName, string Text);
}

/// <summary>One key: whether it is in one message.</summary>
internal abstract class KeyMatcher
{
    /// <summary>True when the key is in <paramref name="text"/>; a regular expression that runs out of time is no match and sets <paramref name="timedOut"/>.</summary>
    public abstract bool IsIn(string text, ref bool timedOut);
}

/// <summary>A word: found with an ordinal search (vectorized), then its ends checked against word characters.</summary>
internal sealed class WordKey(string word, bool caseSensitive, bool wholeWords) : KeyMatcher
{
    private readonly StringComparison _comparison = caseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;

    public override bool IsIn(string text, ref bool timedOut)
    {
        var at = 0;
        while (at <= text.Length - word.Length)
        {
            var found = text.IndexOf(word, at, _comparison);
            if (found < 0)
            {
                return false;
            }

            if (!wholeWords || (!IsWordChar(text, found - 1) && !IsWordChar(text, found + word.Length)))
            {
                return true;
            }

            at = found + 1;
        }

        return false;
    }

    private static bool IsWordChar(string text, int index) =>
        index >= 0 && index < text.Length && (char.IsLetterOrDigit(text[index]) || text[index] == '_' || char.IsSurrogate(text[index]));
}

internal sealed class RegexKey(Regex regex) : KeyMatcher
{
    public override bool IsIn(string text, ref bool timedOut)
    {
        try
        {
            return regex.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            timedOut = true;
            return false;
        }
    }
}

/// <summary>
/// Which lore entries a reply's prompt gets: each enabled entry whose key (and, when selective, one
/// secondary key) is in one of the newest messages it scans, and every constant entry; each book's
/// entries within the book's own budget, then all within the service's (<see cref="LoreBudget"/>).
/// Linear in entries × keys × scanned text; a regular expression that times out counts as no match, and
/// past <see cref="MaxTimeoutsPerReply"/> time-outs, or <see cref="RegexTimePerReply"/> of matching, the entries with regular expressions are skipped.
/// </summary>
public static class LoreMatcher
{
    /// <summary>Time-outs one reply's matching may meet; past them, entries with regular-expression keys count as not triggered.</summary>
    public const int MaxTimeoutsPerReply = 3;

    /// <summary>
    /// Time one reply's matching of regular expressions may take in all: each match stays under its own
    /// limit, so many slow ones could add up to seconds; past this, entries with regular-expression keys
    /// count as not triggered (counted like a time-out).
    /// </summary>
    public static readonly TimeSpan RegexTimePerReply = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The insertions for a reply whose newest messages (before it) are <paramref name="newestFirst"/>,
    /// contents with <c>{{char}}</c> and <c>{{user}}</c> replaced, each book's within its own
    /// <see cref="Lorebook.TokenBudget"/> (estimated: a book's budget is the author's, not a route's). The
    /// prompt's lore budget is the assembler's, counted by the route's tokenizer. <paramref name="timedOut"/> hears of
    /// each entry whose regular expression ran out of time (book id, entry id).
    /// </summary>
    public static IReadOnlyList<LoreInsertion> Select(
        IReadOnlyList<CompiledLorebook> books,
        IReadOnlyList<string> newestFirst,
        string characterName,
        string userName,
        Action<string, string>? timedOut = null)
    {
        var all = new List<LoreInsertion>();
        var timeouts = 0;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var book in books)
        {
            var triggered = new List<LoreInsertion>();
            foreach (var compiled in book.Entries)
            {
                // Past a few time-outs in one reply, regular expressions are skipped: a hostile book costs a reply at most that many time limits.
                // And past the reply's whole time for them.
                var skipped = compiled.HasRegex
                    && (timeouts >= MaxTimeoutsPerReply || System.Diagnostics.Stopwatch.GetElapsedTime(started) > RegexTimePerReply);
                var timeout = false;
                if (compiled.Entry.Constant || (!skipped && Triggered(compiled, newestFirst, ref timeout)))
                {
                    var entry = compiled.Entry;
                    triggered.Add(new LoreInsertion(compiled.InsertionId, compiled.Content(characterName, userName), entry.Position, entry.Order, entry.Depth, entry.Constant));
                }

                if (timeout)
                {
                    timeouts++;
                    timedOut?.Invoke(book.Book.Id, compiled.Entry.Id);
                }
            }

            all.AddRange(book.Book.TokenBudget > 0 ? LoreBudget.Apply(triggered, book.Book.TokenBudget, EstimatedCost) : triggered);
        }

        return all;
    }

    /// <summary>What a book's own budget counts an entry at: its content's estimated tokens.</summary>
    private static int EstimatedCost(LoreInsertion insertion) => TokenEstimate.FromChars(insertion.Text.Length);

    private static bool Triggered(CompiledEntry entry, IReadOnlyList<string> newestFirst, ref bool timedOut)
    {
        var scanned = Math.Min(entry.ScanDepth, newestFirst.Count);
        return AnyIn(entry.Keys, newestFirst, scanned, ref timedOut)
            && (entry.SecondaryKeys.Length == 0 || AnyIn(entry.SecondaryKeys, newestFirst, scanned, ref timedOut));
    }

    private static bool AnyIn(KeyMatcher[] keys, IReadOnlyList<string> newestFirst, int scanned, ref bool timedOut)
    {
        foreach (var key in keys)
        {
            for (var i = 0; i < scanned && !timedOut; i++)
            {
                if (key.IsIn(newestFirst[i], ref timedOut))
                {
                    return true;
                }
            }

            if (timedOut)
            {
                // One time-out ends the entry's matching: it counts as not triggered.
                return false;
            }
        }

        return false;
    }
}

/// <summary>
/// The one rule for a lore budget, a book's own (estimated) and the prompt's (the assembler's, by the
/// route's tokenizer): the lowest <see cref="LoreInsertion.Order"/> is dropped first, and of equal orders
/// the lower entry id, until the rest fit.
/// </summary>
public static class LoreBudget
{
    /// <summary><paramref name="insertions"/> in the order the budget drops them: ascending order, then entry id (ordinal).</summary>
    public static IOrderedEnumerable<LoreInsertion> InOrder(IEnumerable<LoreInsertion> insertions) =>
        insertions.OrderBy(i => i.Order).ThenBy(i => i.EntryId, StringComparer.Ordinal);

    /// <summary>
    /// The insertions that fit <paramref name="budgetTokens"/>, each costing <paramref name="cost"/>; those kept
    /// stay in the order given. Drops none when they fit (the same list is returned).
    /// </summary>
    public static IReadOnlyList<LoreInsertion> Apply(IReadOnlyList<LoreInsertion> insertions, int budgetTokens, Func<LoreInsertion, int> cost)
    {
        var total = insertions.Sum(i => (long)cost(i));
        if (total <= budgetTokens)
        {
            return insertions;
        }

        var dropped = new HashSet<LoreInsertion>(ReferenceEqualityComparer.Instance);
        foreach (var insertion in InOrder(insertions))
        {
            if (total <= budgetTokens)
            {
                break;
            }

            dropped.Add(insertion);
            total -= cost(insertion);
        }

        return [.. insertions.Where(i => !dropped.Contains(i))];
    }
}

/// <summary>
/// Compiled lorebooks by book, for this replica: a book is compiled once per version (its regular
/// expressions are the costly part) and replaced when a newer version is asked for.
/// </summary>
public sealed class LoreCompiler
{
    /// <summary>Books kept compiled; past it the cache starts over (a bound, not an eviction policy: books are few).</summary>
    private const int MaxBooks = 10_000;

    private readonly ConcurrentDictionary<string, CompiledLorebook> _books = new(StringComparer.Ordinal);

    public CompiledLorebook Get(Lorebook book)
    {
        if (_books.TryGetValue(book.Id, out var compiled) && compiled.Book.Version == book.Version)
        {
            return compiled;
        }

        if (_books.Count >= MaxBooks)
        {
            _books.Clear();
        }

        compiled = CompiledLorebook.Compile(book);
        _books[book.Id] = compiled;
        return compiled;
    }
}
