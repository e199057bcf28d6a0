namespace Spanner.Client;

/// <summary>
/// The class of a <see cref="SpannerException"/>: the canonical error codes of Google APIs (google.rpc.Code),
/// with their numeric values, so callers branch on Spanner's meaning without depending on gRPC.
/// </summary>
public enum SpannerErrorCode
{
    /// <summary>The operation was cancelled, typically by the caller.</summary>
    Cancelled = 1,

    /// <summary>An error without a more specific code.</summary>
    Unknown = 2,

    /// <summary>The request is invalid regardless of the database's state, e.g. malformed SQL or an unknown table.</summary>
    InvalidArgument = 3,

    /// <summary>The deadline passed before the operation finished; it may or may not have taken effect.</summary>
    DeadlineExceeded = 4,

    /// <summary>A row, database or other resource the operation needs does not exist (also a lost session).</summary>
    NotFound = 5,

    /// <summary>The row or resource the operation would create already exists, e.g. an Insert of an existing key.</summary>
    AlreadyExists = 6,

    /// <summary>The caller's credential may not do this.</summary>
    PermissionDenied = 7,

    /// <summary>A quota or server resource ran out; retryable only when the server said after how long.</summary>
    ResourceExhausted = 8,

    /// <summary>The database is not in a state the operation needs, e.g. a schema change in progress or a constraint.</summary>
    FailedPrecondition = 9,

    /// <summary>The transaction was aborted (usually lock contention); rerunning the whole transaction may succeed.</summary>
    Aborted = 10,

    /// <summary>The operation went past a valid range.</summary>
    OutOfRange = 11,

    /// <summary>The server does not implement or allow the operation.</summary>
    Unimplemented = 12,

    /// <summary>An internal server error; retryable only when it is really a reset connection.</summary>
    Internal = 13,

    /// <summary>The service is unreachable or briefly unavailable; retrying may succeed.</summary>
    Unavailable = 14,

    /// <summary>Unrecoverable data loss or corruption.</summary>
    DataLoss = 15,

    /// <summary>The call carried no valid credentials.</summary>
    Unauthenticated = 16,
}
