using ChatService.Bench.Infrastructure;
using StackExchange.Redis;

namespace ChatService.Bench.Baselines;

/// <summary>
/// Each chat's serialized history page stored in Redis Cluster under a key in the chat's own hash
/// slot (as the service keys its windows), through one shared multiplexer as the service has.
/// The keys are deleted on dispose.
/// </summary>
internal sealed class RedisPages : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _redis;

    private RedisPages(ConnectionMultiplexer redis, RedisKey[] keys)
    {
        _redis = redis;
        Keys = keys;
        Database = redis.GetDatabase();
    }

    public IDatabase Database { get; }

    public RedisKey[] Keys { get; }

    public static async Task<RedisPages> CreateAsync(BaselinePayloads payloads, IReadOnlyList<Scenarios.BenchChat> chats)
    {
        var config = ConfigurationOptions.Parse(BenchStack.Endpoints.RedisConfiguration);
        config.ClientName = "chatbench";
        var redis = await ConnectionMultiplexer.ConnectAsync(config);
        var keys = chats.Select(c => (RedisKey)$"chatbench:{{{c.ChatId}}}:page").ToArray();
        var db = redis.GetDatabase();
        for (var i = 0; i < keys.Length; i++)
        {
            await db.StringSetAsync(keys[i], payloads.Pages[i], TimeSpan.FromMinutes(10));
        }

        return new RedisPages(redis, keys);
    }

    public async ValueTask DisposeAsync()
    {
        // One key at a time: a multi-key DEL across hash slots is refused by the cluster.
        foreach (var key in Keys)
        {
            await Database.KeyDeleteAsync(key);
        }

        await _redis.DisposeAsync();
    }
}
