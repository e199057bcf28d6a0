using System.Diagnostics.Metrics;

namespace ChatService.Cache;

/// <summary>The history cache's instruments. Recording never throws.</summary>
internal static class CacheMetrics
{
    public const string MeterName = "ChatService.Cache";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Hits = Meter.CreateCounter<long>("chat.cache.hits", unit: "{read}", description: "Window reads served from Redis.");
    private static readonly Counter<long> Misses = Meter.CreateCounter<long>("chat.cache.misses", unit: "{read}", description: "Window reads not in Redis (then loaded from Spanner).");
    private static readonly Counter<long> Fallbacks = Meter.CreateCounter<long>("chat.cache.fallbacks", unit: "{read}", description: "Window reads that skipped Redis (breaker open, error, or a pending invalidation).");
    private static readonly Counter<long> SpannerReads = Meter.CreateCounter<long>("chat.cache.spanner_reads", unit: "{read}", description: "Window loads from Spanner.");
    private static readonly Counter<long> WriteFailures = Meter.CreateCounter<long>("chat.cache.write_failures", unit: "{write}", description: "Cache updates that did not reach Redis (the key is invalidated later).");
    private static readonly Histogram<double> Latency = Meter.CreateHistogram<double>("chat.cache.latency", unit: "ms", description: "Latency of Redis operations of the history cache.");

    public static void Hit() => Add(Hits);

    public static void Miss() => Add(Misses);

    public static void Fallback() => Add(Fallbacks);

    public static void SpannerRead() => Add(SpannerReads);

    public static void WriteFailed() => Add(WriteFailures);

    public static void Observe(string operation, TimeSpan elapsed)
    {
        try
        {
            Latency.Record(elapsed.TotalMilliseconds, new KeyValuePair<string, object?>("operation", operation));
        }
        catch (Exception)
        {
            // A broken listener must never fail a cache call.
        }
    }

    private static void Add(Counter<long> counter)
    {
        try
        {
            counter.Add(1);
        }
        catch (Exception)
        {
            // A broken listener must never fail a cache call.
        }
    }
}
