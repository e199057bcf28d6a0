using ChatService.Chats;

namespace ChatService.Api;

internal sealed partial class RequestValidator
{
    public const int MaxSearchPageSize = 50;
    public const int DefaultSearchPageSize = 10;
    private const int MaxSearchQueryLength = 200;

    /// <summary>ListChats' archive filter: unspecified is the active chats; any other number is refused naming the field.</summary>
    public static ChatArchiveFilter ArchiveFilter(V1.ChatArchiveFilter filter) => filter switch
    {
        V1.ChatArchiveFilter.Unspecified or V1.ChatArchiveFilter.Active => ChatArchiveFilter.Active,
        V1.ChatArchiveFilter.Archived => ChatArchiveFilter.Archived,
        V1.ChatArchiveFilter.All => ChatArchiveFilter.All,
        _ => throw ApiErrors.InvalidArgument("archive_filter",
            $"archive_filter {(int)filter} is not a known filter (CHAT_ARCHIVE_FILTER_ACTIVE, _ARCHIVED or _ALL)"),
    };

    /// <summary>A search query: 1..200 characters holding 1..8 words (<see cref="ChatSearch.Words"/>).</summary>
    public static IReadOnlyList<string> SearchQuery(string query)
    {
        if (query.Length > MaxSearchQueryLength)
        {
            ApiErrors.ThrowInvalidArgument("query", $"query must be at most {MaxSearchQueryLength} characters, got {query.Length}");
        }

        var words = ChatSearch.Words(query);
        if (words.Count == 0)
        {
            ApiErrors.ThrowInvalidArgument("query", "query must hold at least one word (letters or digits)");
        }

        if (words.Count > ChatSearch.MaxWords)
        {
            ApiErrors.ThrowInvalidArgument("query", $"query holds {words.Count} words; at most {ChatSearch.MaxWords} are searched for");
        }

        return words;
    }

    public static int SearchPageSize(int pageSize)
    {
        if (pageSize is < 0 or > MaxSearchPageSize)
        {
            ApiErrors.ThrowInvalidArgument("page_size", $"page_size must be between 0 and {MaxSearchPageSize}, got {pageSize}");
        }

        return pageSize == 0 ? DefaultSearchPageSize : pageSize;
    }
}
