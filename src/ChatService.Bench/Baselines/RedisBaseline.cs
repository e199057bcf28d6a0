using ChatService.Api.V1;
using ChatService.Bench.Infrastructure;
using ChatService.Bench.Load;
using StackExchange.Redis;

namespace ChatService.Bench.Baselines;

/// <summary>
/// Baseline 2: a raw Redis Cluster GET of the same bytes (each chat's serialized history page under a
/// key in the chat's own hash slot), through one shared multiplexer as the service has, parsed as a
/// GetHistoryResponse like the gRPC clients do.
/// </summary>
internal static class RedisBaseline
{
    public static async Task<LoadResult> RunAsync(
        BaselinePayloads payloads, IReadOnlyList<Scenarios.BenchChat> chats, int callers, BenchOptions options, CancellationToken cancellationToken)
    {
        var config = ConfigurationOptions.Parse(LocalStack.RedisEndpoints);
        config.ClientName = "chatbench";
        await using var redis = await ConnectionMultiplexer.ConnectAsync(config);
        var db = redis.GetDatabase();
        var keys = chats.Select(c => (RedisKey)$"chatbench:{{{c.ChatId}}}:page").ToArray();
        for (var i = 0; i < keys.Length; i++)
        {
            await db.StringSetAsync(keys[i], payloads.Pages[i], TimeSpan.FromMinutes(10));
        }

        try
        {
            return await ClosedLoop.RunAsync("raw Redis GET (same bytes)", callers, options.Warmup, options.Duration, async (caller, ct) =>
            {
                var value = await db.StringGetAsync(keys[caller.Random.Next(keys.Length)]);
                _ = GetHistoryResponse.Parser.ParseFrom((byte[])value!);
            }, servicePid: null, cancellationToken);
        }
        finally
        {
            await db.KeyDeleteAsync(keys);
        }
    }
}
