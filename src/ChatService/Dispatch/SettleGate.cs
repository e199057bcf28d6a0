using Microsoft.Extensions.Options;

namespace ChatService.Dispatch;

/// <summary>
/// Admission control for storing reply outcomes: at most <see cref="DispatchOptions.MaxConcurrentSettles"/>
/// settle commits run at once on this replica. A waiting outcome costs only its text in memory,
/// and the replies it belongs to keep their leases while they wait.
/// </summary>
public sealed class SettleGate : IDisposable
{
    private readonly SemaphoreSlim _slots;
    private int _waiting;

    public SettleGate(IOptions<DispatchOptions> options)
    {
        _slots = new SemaphoreSlim(options.Value.MaxConcurrentSettles);
        DispatchMetrics.ObserveSettles(() => Volatile.Read(ref _waiting));
    }

    /// <summary>Runs <paramref name="settle"/> once a slot is free. Not cancellable: an outcome is never dropped while waiting.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> settle)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await _slots.WaitAsync();
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        try
        {
            return await settle();
        }
        finally
        {
            _slots.Release();
        }
    }

    public void Dispose() => _slots.Dispose();
}
