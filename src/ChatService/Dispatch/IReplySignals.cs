using ChatService.Chats;

namespace ChatService.Dispatch;

/// <summary>
/// Tells every replica about a cancellation, so the one generating the reply stops at once
/// rather than at its next lease renewal (which still catches it if the signal is lost).
/// </summary>
public interface IReplySignals
{
    /// <summary>Asks <paramref name="replica"/> to stop generating the reply.</summary>
    Task PublishCancelAsync(ReplyKey key, string replica);
}

/// <summary>Without a broadcast channel, lease renewals carry cancellations alone.</summary>
internal sealed class NoReplySignals : IReplySignals
{
    public Task PublishCancelAsync(ReplyKey key, string replica) => Task.CompletedTask;
}
