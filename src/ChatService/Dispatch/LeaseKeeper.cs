using ChatService.Chats;

namespace ChatService.Dispatch;

/// <summary>
/// Keeps this replica's lease on some work alive while the work runs, renewing it every third of the lease
/// (so short work costs no extra commit) through the renewal it is given. Serves replies (the reply
/// pipeline's generation, <see cref="ForReply"/>) and deletions of users' data (a DeleteMyData run, see
/// <see cref="Privacy.DataDeletionRunner"/>):
/// <list type="bullet">
/// <item><see cref="LeaseStatus.Held"/>: renewed; the next renewal comes a third of the lease later.</item>
/// <item><see cref="LeaseStatus.Lost"/>: another replica took the work over (or it ended elsewhere):
/// <see cref="Lost"/> is set, the work is cancelled, and renewals stop.</item>
/// <item><see cref="LeaseStatus.CancelRequested"/>: still held, but the user asked (on another replica,
/// whose signal may not have reached this one) to stop: the cancel callback runs, and renewals stop.</item>
/// <item>A renewal that throws (storage trouble): the failure callback hears of it, and the next renewal
/// comes a third of the lease later; the work's own commits check the lease in the end.</item>
/// </list>
/// </summary>
internal sealed class LeaseKeeper : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <param name="renew">Renews the lease (once); called every third of <paramref name="lease"/> until stopped.</param>
    /// <param name="lease">The lease's length.</param>
    /// <param name="timeProvider">The clock the renewals wait on.</param>
    /// <param name="work">Cancelled when a renewal finds the lease lost.</param>
    /// <param name="renewalFailed">Told of each renewal that threw (it is tried again at the next tick).</param>
    /// <param name="cancelRequested">Run when a renewal answers <see cref="LeaseStatus.CancelRequested"/>.</param>
    public LeaseKeeper(
        Func<CancellationToken, Task<LeaseStatus>> renew,
        TimeSpan lease,
        TimeProvider timeProvider,
        CancellationTokenSource work,
        Action<Exception>? renewalFailed = null,
        Action? cancelRequested = null)
    {
        _loop = RenewAsync(renew, lease / 3, timeProvider, work, renewalFailed, cancelRequested);
    }

    /// <summary>The keeper of a reply's lease during its generation: a cancel asked on another replica cancels the reply here.</summary>
    public static LeaseKeeper ForReply(IReplyLedger ledger, OwnedReply reply, TimeSpan lease, TimeProvider timeProvider, CancellationTokenSource generation) =>
        new(ct => ledger.RenewLeaseAsync(reply.Key, ct), lease, timeProvider, generation, cancelRequested: () => reply.RequestCancel());

    /// <summary>True when a renewal found the lease held by someone else.</summary>
    public bool Lost { get; private set; }

    private async Task RenewAsync(
        Func<CancellationToken, Task<LeaseStatus>> renew, TimeSpan every, TimeProvider timeProvider, CancellationTokenSource work,
        Action<Exception>? renewalFailed, Action? cancelRequested)
    {
        try
        {
            while (true)
            {
                await Task.Delay(every, timeProvider, _stop.Token);
                LeaseStatus status;
                try
                {
                    status = await renew(_stop.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !_stop.IsCancellationRequested)
                {
                    // Storage trouble (a timeout of the renewal's own included): keep working and try again; the
                    // work's own commit decides in the end.
                    renewalFailed?.Invoke(ex);
                    continue;
                }

                if (status == LeaseStatus.CancelRequested)
                {
                    cancelRequested?.Invoke();
                    return;
                }

                if (status == LeaseStatus.Lost)
                {
                    Lost = true;
                    try
                    {
                        await work.CancelAsync();
                    }
                    catch (ObjectDisposedException)
                    {
                        // The work ended meanwhile; its own commit checks the lease anyway.
                    }

                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped because the work finished.
        }
    }

    /// <summary>Stops renewing and waits for a renewal in flight, so that nothing extends the lease after this returns.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
    }

    public void Dispose()
    {
        _stop.Cancel();
        if (_loop.IsCompleted)
        {
            // Only once the loop has let go of its token (every caller awaits StopAsync first).
            _stop.Dispose();
        }
    }
}
