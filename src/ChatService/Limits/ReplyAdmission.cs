using System.Threading.RateLimiting;

namespace ChatService.Limits;

/// <summary>
/// A caller's slot among its concurrent replies. Disposing gives the slot back unless it is
/// held for the replies (<see cref="HoldUntil"/>); then it goes back when they settle, or
/// earlier through <see cref="Release"/>.
/// </summary>
public sealed class ReplyAdmission(RateLimitLease slot) : IDisposable
{
    private RateLimitLease? _slot = slot;
    private bool _held;

    /// <summary>Keeps the slot until <paramref name="settled"/> completes, whatever happens to the call.</summary>
    public void HoldUntil(Task settled)
    {
        _held = true;
        _ = settled.ContinueWith(static (_, admission) => ((ReplyAdmission)admission!).Release(), this,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Gives the slot back now; later calls do nothing.</summary>
    public void Release() => Interlocked.Exchange(ref _slot, null)?.Dispose();

    /// <summary>Gives the slot back unless it is held until the replies settle.</summary>
    public void Dispose()
    {
        if (!_held)
        {
            Release();
        }
    }
}
