using ChatService.Chats;
using ChatService.Dispatch;
using ChatService.Storage;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatService.Cache;

/// <summary>Wires the Redis Cluster history cache in front of the Spanner store, when Redis is configured.</summary>
public static class CacheExtensions
{
    public static IHostApplicationBuilder AddHistoryCache(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RedisOptions>()
            .BindConfiguration(RedisOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        var options = builder.Configuration.GetSection(RedisOptions.Section).Get<RedisOptions>() ?? new RedisOptions();
        if (!options.Enabled)
        {
            return builder;
        }

        // One multiplexer for the process. It connects in the background and keeps reconnecting,
        // so the service starts and serves (from Spanner) while Redis is down.
        builder.Services.AddSingleton<IConnectionMultiplexer>(sp =>
        {
            var redis = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
            return ConnectionMultiplexer.Connect(redis.ToConfiguration());
        });
        builder.Services.AddSingleton<HistoryCache>();
        builder.Services.AddSingleton<RedisCacheLimits>();
        builder.Services.AddHostedService<CacheInvalidator>();
        builder.Services.AddSingleton<RedisReplySignals>();
        builder.Services.AddSingleton<IReplySignals>(sp => sp.GetRequiredService<RedisReplySignals>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RedisReplySignals>());
        builder.Services.AddMemoryCache(o => o.SizeLimit = 100_000);
        builder.Services.AddSingleton(sp => new CachedChatStore(
            sp.GetRequiredService<ChatRepository>(),
            sp.GetRequiredService<ChatRepository>(),
            sp.GetRequiredService<HistoryCache>(),
            sp.GetRequiredService<IMemoryCache>(),
            sp.GetRequiredService<RedisCacheLimits>()));
        // These registrations come after the storage's, so the cache is what the domain gets.
        builder.Services.AddSingleton<IChatStore>(sp => sp.GetRequiredService<CachedChatStore>());
        builder.Services.AddSingleton<IReplyStore>(sp => sp.GetRequiredService<CachedChatStore>());
        // Redis down degrades the replica (reads fall back to Spanner); it never makes it unready.
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", failureStatus: HealthStatus.Degraded, tags: [HealthChecks.HealthExtensions.ReadyTag]);
        return builder;
    }
}
