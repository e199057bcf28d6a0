namespace ChatService.Dispatch;

/// <summary>
/// Wakes the recovery sweeper before its interval is up, for a sweep of every shard: another
/// replica has just handed replies over (released their leases while shutting down), so they can
/// be taken over now rather than when some later sweep happens to look at their shard.
/// </summary>
public sealed class SweepTrigger
{
    private readonly SemaphoreSlim _requested = new(0, 1);

    /// <summary>Asks for a full sweep now; requests made before it starts are one sweep.</summary>
    public void Request()
    {
        try
        {
            _requested.Release();
        }
        catch (SemaphoreFullException)
        {
            // One is pending already.
        }
    }

    /// <summary>Completes with true when a sweep was requested, false when <paramref name="timeout"/> passed first.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _requested.WaitAsync(timeout, cancellationToken);
}
