using ChatService.Chats;
using ChatService.Dispatch;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatService.Cache;

/// <summary>
/// Wires the history cache: with Redis configured, the Redis Cluster windows the stores' changes
/// go to and history and prompts are read from, and the shared reply log; without, a sink that does nothing and windows that
/// hold nothing, so every read goes to the stores.
/// </summary>
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
            builder.Services.AddSingleton<IChatChangeSink, NoChatChanges>();
            builder.Services.AddSingleton<IChatWindows, NoChatWindows>();
            // Without Redis a cancel reaches another replica at its next lease renewal.
            builder.Services.AddSingleton<IReplySignals, NoReplySignals>();
            // ... and followers on other replicas read storage.
            builder.Services.AddSingleton<IReplyLog, NoReplyLog>();
            // ... and every reply reads its definitions from Spanner.
            builder.Services.AddSingleton<IDefinitionChanges, NoDefinitionChanges>();
            // ... and a deletion of a user's data has no keys to remove.
            builder.Services.AddSingleton<ICachePurge, NoCachePurge>();
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
        builder.Services.AddSingleton<NearCache>();
        builder.Services.AddSingleton<RedisCacheLimits>();
        builder.Services.AddHostedService<CacheInvalidator>();
        builder.Services.AddSingleton<RedisReplySignals>();
        builder.Services.AddSingleton<IReplySignals>(sp => sp.GetRequiredService<RedisReplySignals>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RedisReplySignals>());
        builder.Services.AddSingleton<IReplyLog, RedisReplyLog>();
        // Replies on warm chats reuse their definitions while the characters' and personas' tokens stand
        // (registered after the storage's reader, which it replaces as IReplyDefinitions and calls).
        builder.Services.AddSingleton<DefinitionTokens>();
        builder.Services.AddSingleton<IReplyDefinitions>(sp => sp.GetRequiredService<DefinitionTokens>());
        builder.Services.AddSingleton<IDefinitionChanges>(sp => sp.GetRequiredService<DefinitionTokens>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DefinitionTokens>());
        builder.Services.AddSingleton<RedisChatWindows>();
        builder.Services.AddSingleton<IChatWindows>(sp => sp.GetRequiredService<RedisChatWindows>());
        builder.Services.AddSingleton<IChatChangeSink>(sp => sp.GetRequiredService<RedisChatWindows>());
        builder.Services.AddSingleton<ICachePurge, RedisCachePurge>();
        // Redis down degrades the replica (reads fall back to Spanner); it never makes it unready.
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", failureStatus: HealthStatus.Degraded, tags: [HealthChecks.HealthExtensions.ReadyTag]);
        return builder;
    }
}
