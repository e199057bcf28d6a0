using ChatService.Chats;

namespace ChatService.Privacy;

/// <summary>
/// A failed deletion run's error: stored in full (DataDeletions.LastError, and the logs) for operators, as
/// <c>[category] Type: message</c>; callers (GetDataDeletion's <c>last_error</c>) see only the category, never
/// the exception's text (which can name tables, hosts or other internals).
/// </summary>
internal static class DataDeletionErrors
{
    public const string StorageUnavailable = "storage_unavailable";
    public const string StorageRejected = "storage_rejected";
    public const string MutationLimit = "mutation_limit";
    public const string CacheUnavailable = "cache_unavailable";
    public const string Internal = "internal";

    /// <summary>The category of a run's failure.</summary>
    public static string Category(Exception failure) => failure switch
    {
        StorageException storage when DataDeletionRunner.IsTooManyMutations(storage) => MutationLimit,
        StorageException { Kind: StorageErrorKind.Rejected } => StorageRejected,
        StorageException => StorageUnavailable,
        ChatException { Kind: ChatErrorKind.Unavailable } => CacheUnavailable,
        StackExchange.Redis.RedisException or TimeoutException => CacheUnavailable,
        _ => Internal,
    };

    /// <summary>What is stored: the category first, then the exception's type and message (for operators).</summary>
    public static string Stored(Exception failure) => $"[{Category(failure)}] {failure.GetType().Name}: {failure.Message}";

    /// <summary>What a caller is shown of a stored error: its category ("" when none; "internal" for text stored without one).</summary>
    public static string Public(string? stored)
    {
        if (string.IsNullOrEmpty(stored))
        {
            return "";
        }

        if (stored.StartsWith('[') && stored.IndexOf(']', StringComparison.Ordinal) is var end and > 1)
        {
            var category = stored[1..end];
            if (category is StorageUnavailable or StorageRejected or MutationLimit or CacheUnavailable or Internal)
            {
                return category;
            }
        }

        return Internal;
    }
}
