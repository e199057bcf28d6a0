using ChatService.Chats;
using ChatService.Dispatch;
using StackExchange.Redis;

namespace ChatService.Cache;

/// <summary>
/// Cancellation signals over Redis sharded pub/sub: each replica subscribes to a channel of its
/// own (so a signal goes to one shard and one replica, never broadcast to all) and stops the
/// reply if it is generating it. Best effort: a lost message only delays the cancel until the
/// generating replica's next lease renewal, which reads the request stored in Spanner.
/// </summary>
internal sealed partial class RedisReplySignals(
    IConnectionMultiplexer redis, ReplyHub hub, Microsoft.Extensions.Options.IOptions<ChatOptions> options, ILogger<RedisReplySignals> logger)
    : IReplySignals, IHostedService
{
    private static RedisChannel ChannelOf(string replica) => RedisChannel.Sharded($"chatservice:cancel:{{{replica}}}");

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
        try
        {
            await redis.GetSubscriber().SubscribeAsync(ChannelOf(options.Value.ReplicaId), (_, message) => OnCancel(message))
                .WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The multiplexer re-subscribes when it reconnects.
            Log.SubscribeFailed(logger, ex.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void OnCancel(RedisValue message)
    {
        var parts = ((string?)message)?.Split('/');
        if (parts is { Length: 3 } && long.TryParse(parts[1], out var seq) && hub.TryGet(new ReplyKey(parts[0], seq, parts[2]), out var owned))
        {
            owned.RequestCancel();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(4101, LogLevel.Warning, "Could not broadcast the cancellation of {Reply}: {Message}. Its lease renewal will catch it.")]
        public static partial void PublishFailed(ILogger logger, string reply, string message);

        [LoggerMessage(4102, LogLevel.Warning, "Could not subscribe to cancellation signals yet: {Message}.")]
        public static partial void SubscribeFailed(ILogger logger, string message);
    }
}
