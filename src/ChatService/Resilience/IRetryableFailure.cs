namespace ChatService.Resilience;

/// <summary>
/// A failure classified where it was born: whether trying again may succeed, and the wait its source
/// asked for. The retry loops read this instead of knowing every source's own error types.
/// </summary>
public interface IRetryableFailure
{
    /// <summary>True when trying the same operation again may succeed.</summary>
    bool IsRetryable { get; }

    /// <summary>The wait the source asked for before a retry, when it named one.</summary>
    TimeSpan? RetryDelay { get; }
}
