using Spanner.Client;

namespace ChatService.Resilience;

/// <summary>
/// What the retry loops ask of a failure. The Spanner client classifies its own errors where they
/// are born; these only read that classification, so no loop second-guesses it.
/// </summary>
public static class RetryFilters
{
    /// <summary>A Spanner error the client says may succeed when tried again (<see cref="SpannerException.IsRetryable"/>).</summary>
    public static bool Spanner(Exception failure) => failure is SpannerException { IsRetryable: true };

    /// <summary>The wait the server asked for (google.rpc.RetryInfo), when the failure carries one.</summary>
    public static TimeSpan? ServerDelay(Exception? failure) =>
        failure is SpannerException { RetryDelay: { } delay } && delay >= TimeSpan.Zero ? delay : null;
}
