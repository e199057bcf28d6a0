namespace ChatService.Resilience;

/// <summary>
/// What one retry loop retries and for how long. The shape of the waits is the same for every
/// loop (see <see cref="RetryPolicy"/>); loops differ only in these numbers and their filter.
/// </summary>
public sealed record RetryPolicyOptions
{
    /// <summary>Names the loop in the retry metrics (Polly's <c>pipeline.name</c>), e.g. <c>reply-settle</c>.</summary>
    public required string Name { get; init; }

    /// <summary>
    /// Whether a failure may succeed when tried again. Cancellation by the caller is never retried,
    /// whatever this says. Start from <see cref="RetryFilters.Retryable"/> for storage calls.
    /// </summary>
    public required Func<Exception, bool> ShouldRetry { get; init; }

    /// <summary>
    /// The wait the failure itself asks for (the server's RetryInfo), which wins over the backoff (up to <see cref="MaxServerDelay"/>).
    /// Default: <see cref="RetryFilters.ServerDelay"/>, the delay an <see cref="IRetryableFailure"/> carries.
    /// </summary>
    public Func<Exception, TimeSpan?> ServerDelay { get; init; } = RetryFilters.ServerDelay;

    /// <summary>The backoff before the first retry, doubled for each further one. Default: 200 ms.</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Where the doubling stops; jitter spreads the waits around it too. Default: 30 s.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest server-asked wait honoured; a longer one is cut to this. For loops with a few
    /// bounded attempts that must not sit on a quota error's 30 s advice. Default: no limit.
    /// </summary>
    public TimeSpan MaxServerDelay { get; init; } = TimeSpan.MaxValue;

    /// <summary>Attempts in all, the first one included. Default: no limit.</summary>
    public int MaxAttempts { get; init; } = int.MaxValue;

    /// <summary>
    /// No attempt starts later than this after the first one did: a retry whose wait would end past
    /// it is not made, and the last failure is thrown. Default: none (<see cref="Timeout.InfiniteTimeSpan"/>).
    /// </summary>
    public TimeSpan Deadline { get; init; } = Timeout.InfiniteTimeSpan;
}
