using System.Text;

namespace ChatService.Chats;

/// <summary>Which of a user's chats a listing takes.</summary>
public enum ChatArchiveFilter
{
    /// <summary>Chats that are not archived (ListChats' default).</summary>
    Active = 1,

    /// <summary>Archived chats only.</summary>
    Archived = 2,

    /// <summary>Every chat.</summary>
    All = 3,
}

/// <summary>A chat a search found: its title matched, or some of its shown turns did (newest first, at most <see cref="ChatSearch.MatchesPerChat"/>).</summary>
public sealed record ChatSearchHit(Chat Chat, bool TitleMatched, IReadOnlyList<ChatSearchMatch> Matches);

/// <summary>A shown turn that holds every word of the query, with the start of its text.</summary>
public sealed record ChatSearchMatch(long Seq, AuthorRole Role, string Snippet);

/// <summary>What one round of a search examined: the hits among those chats, in listing order, and whether chats remain after the last one.</summary>
public sealed record ChatSearchRound(IReadOnlyList<ChatSearchHit> Hits, (DateTimeOffset LastActiveTime, string ChatId)? LastExamined, bool More);

/// <summary>
/// The caller's chats listed by archive state, and searched by the words of their titles and shown messages.
/// A search examines the caller's chats most recently active first, <see cref="ChatOptions.SearchChatsPerPage"/>
/// at a time: each page costs the same bounded work however many chats the user has, and a page token
/// carries the search on from the last chat examined.
/// </summary>
public sealed class ChatHousekeeping(IChatStore store, Microsoft.Extensions.Options.IOptions<ChatOptions> options)
{
    public async Task<Page<Chat>> ListAsync(string userId, ChatArchiveFilter filter, int pageSize, string? pageToken, CancellationToken cancellationToken)
    {
        (DateTimeOffset, string)? after = null;
        if (!string.IsNullOrEmpty(pageToken))
        {
            after = PageToken.TryReadChatList(pageToken, userId, filter, out var cursor)
                ? cursor
                : throw new ChatException(ChatErrorKind.InvalidArgument,
                    "page_token is not a token from a previous ListChats call of this user with this archive_filter", "page_token");
        }

        var chats = await store.ListChatsAsync(userId, filter, after, pageSize + 1, cancellationToken);
        return Page<Chat>.FromRows(chats, pageSize, last => PageToken.ForChatList(userId, filter, last.LastActiveTime, last.Id));
    }

    /// <summary>
    /// Up to <paramref name="pageSize"/> of the user's chats that <paramref name="query"/> (normalized words, see
    /// <see cref="ChatSearch.Words"/>) finds, from the next <see cref="ChatOptions.SearchChatsPerPage"/> chats
    /// after the page token's. The next page starts after the last chat returned when the page filled up
    /// before the chats examined ran out, else after the last chat examined.
    /// </summary>
    public async Task<Page<ChatSearchHit>> SearchAsync(string userId, IReadOnlyList<string> words, int pageSize, string? pageToken, CancellationToken cancellationToken)
    {
        var query = string.Join(' ', words);
        (DateTimeOffset, string)? after = null;
        if (!string.IsNullOrEmpty(pageToken))
        {
            after = PageToken.TryReadChatSearch(pageToken, userId, query, out var cursor)
                ? cursor
                : throw new ChatException(ChatErrorKind.InvalidArgument,
                    "page_token is not a token from a previous SearchChats call of this user with this query", "page_token");
        }

        var round = await store.SearchChatsAsync(userId, query, after, options.Value.SearchChatsPerPage, cancellationToken);
        if (round.Hits.Count > pageSize)
        {
            var last = round.Hits[pageSize - 1].Chat;
            return new Page<ChatSearchHit>([.. round.Hits.Take(pageSize)], PageToken.ForChatSearch(userId, query, last.LastActiveTime, last.Id));
        }

        return new Page<ChatSearchHit>(round.Hits,
            round.More && round.LastExamined is { } examined ? PageToken.ForChatSearch(userId, query, examined.LastActiveTime, examined.ChatId) : null);
    }
}

/// <summary>How a search query becomes the words each title and message is matched against.</summary>
public static class ChatSearch
{
    /// <summary>Most words of a query.</summary>
    public const int MaxWords = 8;

    /// <summary>Most matching turns a hit carries.</summary>
    public const int MatchesPerChat = 3;

    /// <summary>Longest snippet of a matching turn.</summary>
    public const int SnippetChars = 200;

    /// <summary>
    /// How much of a matching turn's text a search reads (code points, Spanner's SUBSTR): well past
    /// <see cref="SnippetChars"/> UTF-16 units, so the snippet is the one the whole text would give.
    /// </summary>
    public const int SnippetSourceChars = 800;

    /// <summary>Most per-chat match queries one search round runs at once.</summary>
    public const int QueryFanOut = 8;

    /// <summary>
    /// The characters words are made of, as a regular-expression class body that RE2 (Spanner's REGEXP_CONTAINS)
    /// and .NET read alike: letters, decimal digits, and non-spacing and spacing marks. <see cref="IsWordRune"/>
    /// is the same set; the search's patterns (<see cref="WordPattern"/>) are built from this.
    /// </summary>
    public const string WordClass = @"\p{L}\p{Nd}\p{Mn}\p{Mc}";

    /// <summary>Whether <paramref name="rune"/> is a word character: the set <see cref="WordClass"/> names.</summary>
    public static bool IsWordRune(Rune rune) =>
        Rune.IsLetterOrDigit(rune)
        || Rune.GetUnicodeCategory(rune) is System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.SpacingCombiningMark;

    /// <summary>
    /// The pattern a text matches when it holds <paramref name="word"/> (one of <see cref="Words"/>) as a whole word,
    /// case-insensitively: between the text's ends or characters outside <see cref="WordClass"/>. RE2 syntax (Spanner);
    /// .NET reads it the same. A word holds only word characters, so escaping leaves it as it is.
    /// </summary>
    public static string WordPattern(string word) =>
        $"(?i)(?:^|[^{WordClass}]){System.Text.RegularExpressions.Regex.Escape(word)}(?:$|[^{WordClass}])";

    /// <summary>
    /// The query's words: runs of letters and digits (marks too, so accented words stay whole) that hold at
    /// least one letter or digit, lowercased, each once, in order. Everything else separates words, so no
    /// character of a query reaches a pattern but letters, digits and marks: a query can only ask that
    /// every word be there.
    /// </summary>
    public static IReadOnlyList<string> Words(string query)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var hasLetterOrDigit = false;
        void Flush()
        {
            // A run of marks alone (no letter or digit to carry them) is no word.
            if (word.Length > 0 && hasLetterOrDigit)
            {
                var text = word.ToString().ToLowerInvariant();
                if (!words.Contains(text))
                {
                    words.Add(text);
                }
            }

            word.Clear();
            hasLetterOrDigit = false;
        }

        foreach (var rune in query.EnumerateRunes())
        {
            if (IsWordRune(rune))
            {
                word.Append(rune.ToString());
                hasLetterOrDigit |= Rune.IsLetterOrDigit(rune);
            }
            else
            {
                Flush();
            }
        }

        Flush();
        return words;
    }
}
