namespace ChatService.Resilience;

/// <summary>
/// What the retry loops ask of a failure. Failures are classified where they are born (storage's
/// errors, as <see cref="IRetryableFailure"/>); these only read that classification, so no loop second-guesses it.
/// </summary>
public static class RetryFilters
{
    /// <summary>A failure its source says may succeed when tried again (<see cref="IRetryableFailure.IsRetryable"/>).</summary>
    public static bool Retryable(Exception failure) => failure is IRetryableFailure { IsRetryable: true };

    /// <summary>The wait the server asked for (google.rpc.RetryInfo), when the failure carries one.</summary>
    public static TimeSpan? ServerDelay(Exception failure) =>
        failure is IRetryableFailure { RetryDelay: { } delay } && delay >= TimeSpan.Zero ? delay : null;
}
