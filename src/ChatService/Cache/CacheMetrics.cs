using System.Diagnostics.Metrics;

namespace ChatService.Cache;

/// <summary>The history cache's instruments. Recording never throws.</summary>
internal static class CacheMetrics
{
    public const string MeterName = "ChatService.Cache";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Hits = Meter.CreateCounter<long>("chat.cache.hits", description: "Window reads served from Redis.");
    private static readonly Counter<long> Misses = Meter.CreateCounter<long>("chat.cache.misses", description: "Window reads not in Redis (then loaded from Spanner).");
    private static readonly Counter<long> Fallbacks = Meter.CreateCounter<long>("chat.cache.fallbacks", description: "Window reads that skipped Redis (breaker open, error, or a pending invalidation).");
    private static readonly Counter<long> SpannerReads = Meter.CreateCounter<long>("chat.cache.spanner_reads", description: "Window loads from Spanner.");
    private static readonly Counter<long> WriteFailures = Meter.CreateCounter<long>("chat.cache.write_failures", description: "Cache updates that did not reach Redis (the key is invalidated later).");
    private static readonly Histogram<double> Latency = Meter.CreateHistogram<double>("chat.cache.latency", unit: "ms", description: "Latency of Redis operations of the history cache.");

    public static void Hit() => Hits.Add(1);

    public static void Miss() => Misses.Add(1);

    public static void Fallback() => Fallbacks.Add(1);

    public static void SpannerRead() => SpannerReads.Add(1);

    public static void WriteFailed() => WriteFailures.Add(1);

    public static void Observe(string operation, TimeSpan elapsed) =>
        Latency.Record(elapsed.TotalMilliseconds, new KeyValuePair<string, object?>("operation", operation));
}
