using System.Collections.Frozen;
using ChatService.Chats;
using ChatService.Storage;

namespace ChatService.Privacy;

/// <summary>
/// What kind of failure ended a deletion run. This enum is the one list of categories: each member's
/// snake_case name (<see cref="DataDeletionErrors.Name"/>) is what is stored and shown, so a member added
/// here is shown to callers without being listed anywhere else. The names are stored in DataDeletions rows:
/// renaming a member changes what older rows are read as.
/// </summary>
internal enum DataDeletionErrorCategory
{
    /// <summary>Spanner could not be reached or did not answer in time.</summary>
    StorageUnavailable,

    /// <summary>Spanner refused a statement (a bug of ours, or the credentials).</summary>
    StorageRejected,

    /// <summary>Spanner refused a commit for its mutations, and the batch could not be split further.</summary>
    MutationLimit,

    /// <summary>Redis could not be reached or did not answer in time.</summary>
    CacheUnavailable,

    /// <summary>Anything else (and any stored text without a known category).</summary>
    Internal,
}

/// <summary>
/// A failed deletion run's error: stored in full (DataDeletions.LastError, and the logs) for operators, as
/// <c>[category] Type: message</c>; callers (GetDataDeletion's <c>last_error</c>) see only the category, never
/// the exception's text (which can name tables, hosts or other internals).
/// </summary>
internal static class DataDeletionErrors
{
    /// <summary>Every category's name: all of <see cref="DataDeletionErrorCategory"/>, derived, never listed.</summary>
    private static readonly FrozenDictionary<DataDeletionErrorCategory, string> Names = Enum.GetValues<DataDeletionErrorCategory>()
        .ToFrozenDictionary(c => c, c => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(c.ToString()));

    private static readonly FrozenSet<string> KnownNames = Names.Values.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The category's stored and shown name: its member's name in snake_case (<c>mutation_limit</c>).</summary>
    public static string Name(DataDeletionErrorCategory category) => Names[category];

    /// <summary>The category of a run's failure.</summary>
    public static DataDeletionErrorCategory Category(Exception failure) => failure switch
    {
        StorageException storage when SpannerErrors.IsTooManyMutations(storage) => DataDeletionErrorCategory.MutationLimit,
        StorageException { Kind: StorageErrorKind.Rejected } => DataDeletionErrorCategory.StorageRejected,
        StorageException => DataDeletionErrorCategory.StorageUnavailable,
        ChatException { Kind: ChatErrorKind.Unavailable } => DataDeletionErrorCategory.CacheUnavailable,
        StackExchange.Redis.RedisException or TimeoutException => DataDeletionErrorCategory.CacheUnavailable,
        _ => DataDeletionErrorCategory.Internal,
    };

    /// <summary>What is stored: the category first, then the exception's type and message (for operators).</summary>
    public static string Stored(Exception failure) => $"[{Name(Category(failure))}] {failure.GetType().Name}: {failure.Message}";

    /// <summary>What a caller is shown of a stored error: its category ("" when none; "internal" for text stored without one).</summary>
    public static string Public(string? stored)
    {
        if (string.IsNullOrEmpty(stored))
        {
            return "";
        }

        if (stored.StartsWith('[') && stored.IndexOf(']', StringComparison.Ordinal) is var end and > 1
            && KnownNames.Contains(stored[1..end]))
        {
            return stored[1..end];
        }

        return Name(DataDeletionErrorCategory.Internal);
    }
}
