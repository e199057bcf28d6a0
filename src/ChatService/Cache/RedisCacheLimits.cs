using Microsoft.Extensions.Options;

namespace ChatService.Cache;

/// <summary>Process-wide limits of the cache's Spanner fallback.</summary>
internal sealed class RedisCacheLimits(IOptions<RedisOptions> options)
{
    public SemaphoreSlim SpannerFallback { get; } = new(options.Value.FallbackConcurrency);
}
