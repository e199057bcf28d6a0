namespace ChatService.Resilience;

/// <summary>A failed attempt that is about to be retried.</summary>
/// <param name="Attempt">The number of the attempt that failed, from 1.</param>
/// <param name="Delay">How long the loop waits before the next attempt.</param>
/// <param name="Failure">Why the attempt failed.</param>
public readonly record struct RetryAttempt(int Attempt, TimeSpan Delay, Exception Failure);
