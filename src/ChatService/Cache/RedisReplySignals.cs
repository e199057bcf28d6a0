using ChatService.Chats;
using ChatService.Dispatch;
using StackExchange.Redis;

namespace ChatService.Cache;

/// <summary>
/// Signals over Redis sharded pub/sub. Cancellations: each replica subscribes to a channel of its
/// own (so a signal goes to one shard and one replica, never broadcast to all) and stops the
/// reply if it is generating it. Handovers: one channel every replica hears, used when a replica
/// shuts down with replies in flight, so that the others sweep at once. Best effort: a lost
/// cancel waits for the generating replica's next lease renewal (which reads the request stored
/// in Spanner), a lost handover for the next sweep.
/// </summary>
internal sealed partial class RedisReplySignals(
    IConnectionMultiplexer redis, ReplyHub hub, SweepTrigger sweeps, Microsoft.Extensions.Options.IOptions<ChatOptions> options, ILogger<RedisReplySignals> logger)
    : IReplySignals, IHostedService
{
    private static RedisChannel ChannelOf(string replica) => RedisChannel.Sharded($"chatservice:cancel:{{{replica}}}");

    /// <summary>Heard by every replica; used only when one shuts down with replies in flight.</summary>
    private static readonly RedisChannel HandOverChannel = RedisChannel.Sharded("chatservice:handover");

    public async Task PublishHandOverAsync()
    {
        try
        {
            await redis.GetSubscriber().PublishAsync(HandOverChannel, options.Value.ReplicaId).WaitAsync(TimeSpan.FromSeconds(1));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.HandOverPublishFailed(logger, ex.Message);
        }
    }

    public async Task PublishCancelAsync(ReplyKey key, string replica)
    {
        try
        {
            await redis.GetSubscriber().PublishAsync(ChannelOf(replica), key.ToString()).WaitAsync(TimeSpan.FromSeconds(1));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.PublishFailed(logger, key.ToString(), ex.Message);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Each on its own: one that times out must not keep the other from being made. A
        // subscription that timed out is still registered, and the multiplexer makes it when it
        // (re)connects.
        await SubscribeAsync(ChannelOf(options.Value.ReplicaId), (_, message) => OnCancel(message), cancellationToken);
        await SubscribeAsync(HandOverChannel, (_, message) =>
        {
            if ((string?)message != options.Value.ReplicaId)
            {
                sweeps.Request();
            }
        }, cancellationToken);
    }

    private async Task SubscribeAsync(RedisChannel channel, Action<RedisChannel, RedisValue> handler, CancellationToken cancellationToken)
    {
        try
        {
            await redis.GetSubscriber().SubscribeAsync(channel, handler).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.SubscribeFailed(logger, ex.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void OnCancel(RedisValue message)
    {
        // "chatId/seq/candidateId", with "+n" after the candidate for its n-th continuation.
        if (ReplyKey.TryParse((string?)message, out var key) && hub.TryGet(key, out var owned))
        {
            owned.RequestCancel();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(4101, LogLevel.Warning, "Could not broadcast the cancellation of {Reply}: {Message}. Its lease renewal will catch it.")]
        public static partial void PublishFailed(ILogger logger, string reply, string message);

        [LoggerMessage(4103, LogLevel.Warning, "Could not tell the other replicas about replies handed over: {Message}. Their sweeps find them.")]
        public static partial void HandOverPublishFailed(ILogger logger, string message);

        [LoggerMessage(4102, LogLevel.Warning, "Could not subscribe to cancellation signals yet: {Message}.")]
        public static partial void SubscribeFailed(ILogger logger, string message);
    }
}
