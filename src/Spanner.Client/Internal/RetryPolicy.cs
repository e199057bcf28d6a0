using Grpc.Core;

namespace Spanner.Client.Internal;

/// <summary>
/// Reruns an attempt that failed with ABORTED, as Spanner asks clients to: wait the server's RetryInfo delay
/// when it sent one, else exponential backoff (initial delay doubling up to the cap, "equal jitter": half fixed,
/// half random), and give up when the next attempt would start after the overall deadline. Any other error
/// propagates at once. All waiting and the deadline use the injected <see cref="TimeProvider"/>.
/// </summary>
internal sealed class RetryPolicy(TimeSpan initialDelay, TimeSpan maxDelay, TimeSpan timeout, TimeProvider time, Random? random = null)
{
    private readonly Random _random = random ?? Random.Shared;

    public TimeSpan Timeout => timeout;

    /// <summary>
    /// Runs <paramref name="attempt"/> (given the 1-based attempt number) until it does not abort; <paramref name="onRetry"/>
    /// is called before each wait with the failure, the number of the attempt that failed and the delay.
    /// </summary>
    public async Task<T> RunAsync<T>(
        Func<int, CancellationToken, Task<T>> attempt,
        Action<SpannerException, int, TimeSpan>? onRetry,
        CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        for (var number = 1; ; number++)
        {
            try
            {
                return await attempt(number, cancellationToken);
            }
            catch (SpannerException ex) when (ex.StatusCode == StatusCode.Aborted)
            {
                var delay = NextDelay(ex, number);
                var elapsed = time.GetElapsedTime(started);
                if (elapsed + delay >= timeout)
                {
                    throw new SpannerException(
                        StatusCode.Aborted,
                        $"Gave up after {number} aborted attempt(s) in {elapsed.TotalMilliseconds:F0} ms " +
                        $"(transaction timeout {timeout.TotalMilliseconds:F0} ms). Last error: {ex.Detail}",
                        ex,
                        ex.RetryDelay);
                }

                onRetry?.Invoke(ex, number, delay);
                await Task.Delay(delay, time, cancellationToken);
            }
        }
    }

    /// <summary>The wait after failed attempt <paramref name="attempt"/>: the server's RetryInfo, else backoff.</summary>
    public TimeSpan NextDelay(SpannerException failure, int attempt) =>
        failure.RetryDelay is { } serverDelay && serverDelay >= TimeSpan.Zero ? serverDelay : Backoff(attempt);

    /// <summary>Equal-jitter exponential backoff: a ceiling of initial × 2^(attempt-1) capped at the max; half of it fixed, half random.</summary>
    public TimeSpan Backoff(int attempt)
    {
        var ceilingTicks = initialDelay.Ticks;
        for (var i = 1; i < attempt && ceilingTicks < maxDelay.Ticks; i++)
        {
            ceilingTicks *= 2;
        }

        ceilingTicks = Math.Min(ceilingTicks, maxDelay.Ticks);
        var half = ceilingTicks / 2;
        return TimeSpan.FromTicks(half + (long)(_random.NextDouble() * (ceilingTicks - half)));
    }
}
