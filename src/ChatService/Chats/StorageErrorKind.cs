namespace ChatService.Chats;

/// <summary>What kind of storage failure a <see cref="StorageException"/> is; the API maps each to one gRPC status code.</summary>
public enum StorageErrorKind
{
    /// <summary>The store is unreachable, briefly unavailable, or failed in a way that is not the statement's fault.</summary>
    Unavailable,

    /// <summary>The store's deadline passed first; the operation may or may not have taken effect.</summary>
    DeadlineExceeded,

    /// <summary>The store ran out of quota or capacity.</summary>
    ResourceExhausted,

    /// <summary>
    /// The store refused the operation itself (a malformed statement, a violated constraint, missing
    /// permissions): a bug or a misconfiguration of ours, which retrying never fixes.
    /// </summary>
    Rejected,
}
