using ChatService.Resilience;

namespace ChatService.Chats;

/// <summary>
/// The chat store failed. The stores throw this for every failure of the database under them, classified
/// where the failure is born, so nothing above them needs to know which database that is. The
/// <see cref="Exception.InnerException"/> is the database client's own error.
/// </summary>
public sealed class StorageException(StorageErrorKind kind, string code, string message, Exception? innerException = null)
    : Exception(message, innerException), IRetryableFailure
{
    public StorageErrorKind Kind { get; } = kind;

    /// <summary>The database's own name for the failure (e.g. <c>Aborted</c>), for logs.</summary>
    public string Code { get; } = code;

    /// <summary>True when trying the same operation again may succeed, as the database client judges it.</summary>
    public bool IsRetryable { get; init; }

    /// <summary>The wait the database asked for before a retry, when it named one.</summary>
    public TimeSpan? RetryDelay { get; init; }
}
