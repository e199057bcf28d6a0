using ChatService.Chats;

namespace ChatService.Dispatch;

/// <summary>
/// Keeps this replica's lease on a reply alive while it is generated, renewing at a third of the
/// lease so that short replies cost no extra commit. If the lease is lost (another replica took
/// the reply over), generation is cancelled.
/// </summary>
internal sealed class LeaseKeeper : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public LeaseKeeper(IReplyLedger ledger, OwnedReply reply, TimeSpan lease, TimeProvider timeProvider, CancellationTokenSource generation)
    {
        _loop = RenewAsync(ledger, reply, lease / 3, timeProvider, generation);
    }

    /// <summary>True when a renewal found the lease held by someone else.</summary>
    public bool Lost { get; private set; }

    private async Task RenewAsync(IReplyLedger ledger, OwnedReply reply, TimeSpan every, TimeProvider timeProvider, CancellationTokenSource generation)
    {
        try
        {
            while (true)
            {
                await Task.Delay(every, timeProvider, _stop.Token);
                LeaseStatus status;
                try
                {
                    status = await ledger.RenewLeaseAsync(reply.Key, _stop.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Storage trouble: keep generating and try again; the settle commit decides in the end.
                    continue;
                }

                if (status == LeaseStatus.CancelRequested)
                {
                    // Asked on another replica (its signal may not have reached us): stop and store.
                    reply.RequestCancel();
                    return;
                }

                if (status == LeaseStatus.Lost)
                {
                    Lost = true;
                    try
                    {
                        await generation.CancelAsync();
                    }
                    catch (ObjectDisposedException)
                    {
                        // Generation ended meanwhile; the settle commit checks the lease anyway.
                    }

                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped because generation finished.
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
    }
}
