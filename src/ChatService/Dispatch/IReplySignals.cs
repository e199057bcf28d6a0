using ChatService.Chats;

namespace ChatService.Dispatch;

/// <summary>
/// Signals between replicas: a cancellation, so the one generating the reply stops at once rather
/// than at its next lease renewal (which still catches it if the signal is lost); a handover, so
/// the others take the released replies over at once rather than at their next sweep.
/// </summary>
public interface IReplySignals
{
    /// <summary>Asks <paramref name="replica"/> to stop generating the reply.</summary>
    Task PublishCancelAsync(ReplyKey key, string replica);

    /// <summary>Tells every replica that this one released leases of replies it was generating: their sweepers look now.</summary>
    Task PublishHandOverAsync();
}

/// <summary>Without a broadcast channel, lease renewals carry cancellations and sweeps find handovers.</summary>
internal sealed class NoReplySignals : IReplySignals
{
    public Task PublishCancelAsync(ReplyKey key, string replica) => Task.CompletedTask;

    public Task PublishHandOverAsync() => Task.CompletedTask;
}
