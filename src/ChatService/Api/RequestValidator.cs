using System.Text;
using ChatService.Chats;
using ChatService.Inference;
using Microsoft.Extensions.Options;

namespace ChatService.Api;

/// <summary>
/// Checks request fields before anything reaches the domain, so a rejected request writes
/// nothing. Every failure is INVALID_ARGUMENT naming the field and what is wrong with it.
/// </summary>
internal sealed partial class RequestValidator(IOptions<ChatOptions> options, ModelRouter router)
{
    public const int MaxPageSize = 100;
    public const int DefaultPageSize = 20;
    private const int MaxRequestIdLength = 64;

    private ChatOptions Options => options.Value;

    public static string Id(string value, string field)
    {
        if (string.IsNullOrEmpty(value))
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} is required");
        }

        if (!Ids.IsValid(value))
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must be a lowercase UUID such as 123e4567-e89b-42d3-a456-426614174000");
        }

        return value;
    }

    public static IReadOnlyList<string> IdList(IEnumerable<string> values, string field, int min, int max)
    {
        var list = values.ToList();
        if (list.Count < min || list.Count > max)
        {
            ApiErrors.ThrowInvalidArgument(field, min == max ? $"{field} must have {min} entries" : $"{field} must have {min} to {max} entries, got {list.Count}");
        }

        for (var i = 0; i < list.Count; i++)
        {
            Id(list[i], $"{field}[{i}]");
            if (list.IndexOf(list[i]) != i)
            {
                ApiErrors.ThrowInvalidArgument($"{field}[{i}]", $"{field}[{i}] repeats {list[i]}");
            }
        }

        return list;
    }

    public static int PageSize(int pageSize)
    {
        if (pageSize is < 0 or > MaxPageSize)
        {
            ApiErrors.ThrowInvalidArgument("page_size", $"page_size must be between 0 and {MaxPageSize}, got {pageSize}");
        }

        return pageSize == 0 ? DefaultPageSize : pageSize;
    }

    /// <summary>An optional id: null when empty, otherwise checked like <see cref="Id"/>.</summary>
    public static string? OptionalId(string value, string field) => value.Length == 0 ? null : Id(value, field);

    /// <summary>The largest integer a JavaScript number holds exactly, so browser clients can echo any sequence back.</summary>
    private const long MaxAfterSequence = (1L << 53) - 1;

    /// <summary>Where a resumed reply stream starts. Past the end, the final event is numbered after_sequence + 1, which must not overflow.</summary>
    public static long AfterSequence(long afterSequence)
    {
        if (afterSequence is < 0 or > MaxAfterSequence)
        {
            ApiErrors.ThrowInvalidArgument("after_sequence", $"after_sequence must be between 0 and {MaxAfterSequence}, got {afterSequence}");
        }

        return afterSequence;
    }

    /// <summary>How many turns a ContinueChat adds.</summary>
    public static int ContinueTurns(int turns)
    {
        if (turns is < 1 or > ReplyPolicy.MaxContinuationTurns)
        {
            ApiErrors.ThrowInvalidArgument("turns", $"turns must be between 1 and {ReplyPolicy.MaxContinuationTurns}, got {turns}");
        }

        return turns;
    }

    public static long Seq(long seq, string field = "seq")
    {
        if (seq <= 0)
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must be a positive turn number, got {seq}");
        }

        return seq;
    }

    /// <summary>Turn numbers a request names: 1..<paramref name="max"/> of them, each positive, none twice.</summary>
    public static IReadOnlyList<long> Seqs(IReadOnlyList<long> seqs, string field, int max)
    {
        if (seqs.Count == 0 || seqs.Count > max)
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must name 1..{max} turns, got {seqs.Count}");
        }

        foreach (var seq in seqs)
        {
            Seq(seq, field);
        }

        if (seqs.Distinct().Count() != seqs.Count)
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must not name a turn twice");
        }

        return seqs;
    }

    /// <summary>The turn a turn-scoped request names: its <c>chat_id</c>, then its <c>seq</c>.</summary>
    public static (string ChatId, long Seq) Turn(ITurnScoped request) => (Id(request.ChatId, "chat_id"), Seq(request.Seq));

    /// <summary>The message text: not blank, within the configured byte limit.</summary>
    public string MessageText(string text, string field = "text")
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must not be empty");
        }

        Bytes(text, field, Options.MaxMessageBytes);
        return text;
    }

    /// <summary>An optional idempotency key; a fresh one when the caller sent none.</summary>
    public static string RequestId(string requestId)
    {
        if (requestId.Length == 0)
        {
            return Guid.NewGuid().ToString("N");
        }

        if (requestId.Length > MaxRequestIdLength || !requestId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            ApiErrors.ThrowInvalidArgument("request_id", $"request_id must be 1..{MaxRequestIdLength} characters of A-Z, a-z, 0-9, '-' and '_'");
        }

        return requestId;
    }

    public const int MaxRatingTags = 8;
    public const int MaxRatingTagLength = 32;
    public const int MaxRatingCommentLength = 2000;

    /// <summary>
    /// A rating: 1..4 stars, up to <see cref="MaxRatingTags"/> distinct tags of 1..<see cref="MaxRatingTagLength"/>
    /// characters of A-Z, a-z, 0-9, '-' and '_', and a comment of up to <see cref="MaxRatingCommentLength"/>
    /// characters (Unicode code points). Its time is the commit's.
    /// </summary>
    public static TurnRating Rating(V1.RateCandidateRequest request)
    {
        if (request.Stars is < 1 or > 4)
        {
            ApiErrors.ThrowInvalidArgument("stars", $"stars must be between 1 and 4, got {request.Stars}");
        }

        if (request.Tags.Count > MaxRatingTags)
        {
            ApiErrors.ThrowInvalidArgument("tags", $"tags must have at most {MaxRatingTags} entries, got {request.Tags.Count}");
        }

        for (var i = 0; i < request.Tags.Count; i++)
        {
            var tag = request.Tags[i];
            if (tag.Length is 0 or > MaxRatingTagLength || !tag.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                ApiErrors.ThrowInvalidArgument($"tags[{i}]", $"tags[{i}] must be 1..{MaxRatingTagLength} characters of A-Z, a-z, 0-9, '-' and '_'");
            }

            if (request.Tags.IndexOf(tag) != i)
            {
                ApiErrors.ThrowInvalidArgument($"tags[{i}]", $"tags[{i}] repeats {tag}");
            }
        }

        var commentLength = request.Comment.EnumerateRunes().Count();
        if (commentLength > MaxRatingCommentLength)
        {
            ApiErrors.ThrowInvalidArgument("comment", $"comment must be at most {MaxRatingCommentLength} characters, got {commentLength}");
        }

        return new TurnRating(request.Stars, [.. request.Tags], request.Comment.Length == 0 ? null : request.Comment, default);
    }

    /// <summary>
    /// A ListCharacters listing: <c>listing</c> and <c>order</c> known values (unspecified is the caller's own,
    /// newest first), <c>query</c> empty or 1..<see cref="CharacterSearch.MaxTermLength"/> characters (Unicode
    /// code points) once trimmed, without control characters.
    /// </summary>
    public static CharacterList CharacterList(V1.ListCharactersRequest request)
    {
        var listing = request.Listing switch
        {
            V1.CharacterListing.Unspecified or V1.CharacterListing.Own => CharacterListing.Own,
            V1.CharacterListing.Public => CharacterListing.Public,
            _ => throw ApiErrors.InvalidArgument("listing", $"listing {(int)request.Listing} is not a known value"),
        };
        var order = request.Order switch
        {
            V1.CharacterOrder.Unspecified or V1.CharacterOrder.Newest => CharacterOrder.Newest,
            V1.CharacterOrder.MostUsed => CharacterOrder.MostUsed,
            _ => throw ApiErrors.InvalidArgument("order", $"order {(int)request.Order} is not a known value"),
        };
        if (request.Query.Length == 0)
        {
            return new CharacterList(listing, order, null);
        }

        var query = request.Query.Trim();
        var length = query.EnumerateRunes().Count();
        if (length is 0 or > CharacterSearch.MaxTermLength || query.Any(char.IsControl))
        {
            ApiErrors.ThrowInvalidArgument("query",
                $"query must be empty or 1..{CharacterSearch.MaxTermLength} characters without control characters once trimmed, got {length}");
        }

        return new CharacterList(listing, order, query);
    }

    public IReadOnlyList<string> ChatCharacters(IEnumerable<string> characterIds) =>
        IdList(characterIds, "character_ids", 1, Options.MaxCharactersPerChat);

    /// <summary>Named speakers of a send: no chat has more characters than a chat may have.</summary>
    public IReadOnlyList<string> ReplyCharacters(IEnumerable<string> characterIds) =>
        IdList(characterIds, "reply_character_ids", 0, Options.MaxCharactersPerChat);

    /// <summary>
    /// A title of a new chat (CreateChat, ForkChat, ImportChat): empty is no title (each RPC's default); otherwise
    /// <see cref="ChatTitles"/>' rule, and it must show something (only spaces or joiners are refused, as UpdateChat refuses them).
    /// </summary>
    public static string Title(string title)
    {
        if (title.Length > 0 && ChatTitles.ShowsNothing(title))
        {
            ApiErrors.ThrowInvalidArgument("title", "title holds only characters that show nothing (spaces, joiners, blank fillers): send an empty title for the default, or one that shows something");
        }

        if (ChatTitles.Problem(title) is { } problem)
        {
            ApiErrors.ThrowInvalidArgument("title", $"title {problem}; a title is {ChatTitles.Rule}");
        }

        return title;
    }

    private static void Required(string value, string field, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must not be empty");
        }

        if (value.Length > maxLength)
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must be at most {maxLength} characters, got {value.Length}");
        }
    }

    private static void Bytes(string value, string field, int maxBytes)
    {
        var bytes = Encoding.UTF8.GetByteCount(value);
        if (bytes > maxBytes)
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} is {bytes} bytes of UTF-8; the limit is {maxBytes}");
        }
    }
}
