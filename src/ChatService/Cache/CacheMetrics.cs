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
    private static readonly Counter<long> NearHits = Meter.CreateCounter<long>("chat.cache.near.hits", unit: "{read}", description: "Window head reads served from this replica's near cache.");
    private static readonly Counter<long> NearMisses = Meter.CreateCounter<long>("chat.cache.near.misses", unit: "{read}", description: "Window head reads the near cache did not hold (then read from Redis).");
    private static readonly Counter<long> NearInvalidations = Meter.CreateCounter<long>("chat.cache.near.invalidations", unit: "{announcement}", description: "Window change announcements that reached a near-cached chat.");
    private static readonly Counter<long> NearClears = Meter.CreateCounter<long>("chat.cache.near.clears", unit: "{clear}", description: "Whole near cache drops, by reason (connection failed or restored, layout changed, breaker opened).");
    private static readonly Counter<long> NearEvictions = Meter.CreateCounter<long>("chat.cache.near.evictions", unit: "{chat}", description: "Chats dropped from the near cache to stay within its memory budget.");
    private static readonly Counter<long> NearRegressions = Meter.CreateCounter<long>("chat.cache.near.regressions", unit: "{read}", description: "Heads from Redis older than one this replica had already kept (not served; the window is reloaded).");
    private static readonly Counter<long> SummaryWindows = Meter.CreateCounter<long>("chat.cache.summary_windows", unit: "{summary}", description: "Stored summaries as the chat's cached window took them: applied in place, current (loaded after the store), dropped, or none cached.");
    private static readonly Histogram<double> Latency = Meter.CreateHistogram<double>("chat.cache.latency", unit: "ms", description: "Latency of Redis operations of the history cache.");

    public static void Hit() => Add(Hits);

    /// <summary>How a stored summary reached the chat's window: applied, current, dropped or none.</summary>
    public static void SummaryWindow(string outcome) => SummaryWindows.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public static void Miss() => Add(Misses);

    public static void Fallback() => Add(Fallbacks);

    public static void SpannerRead() => Add(SpannerReads);

    public static void WriteFailed() => Add(WriteFailures);

    public static void NearHit() => Add(NearHits);

    public static void NearMiss() => Add(NearMisses);

    public static void NearInvalidated() => Add(NearInvalidations);

    public static void NearEvicted() => Add(NearEvictions);

    public static void NearRegression() => Add(NearRegressions);

    public static void NearCleared(string reason)
    {
        try
        {
            NearClears.Add(1, new KeyValuePair<string, object?>("reason", reason));
        }
        catch (Exception)
        {
            // A broken listener must never fail a cache call.
        }
    }

    private static NearCache? _near;

    /// <summary>Makes <paramref name="near"/> the near cache whose size is reported (one per process).</summary>
    public static void ObserveNear(NearCache near) => _near = near;

    private static readonly ObservableGauge<long> NearBytes = Meter.CreateObservableGauge(
        "chat.cache.near.bytes", () => _near?.Bytes ?? 0, unit: "By", description: "Bytes of window heads held by the near cache.");

    private static readonly ObservableGauge<int> NearChats = Meter.CreateObservableGauge(
        "chat.cache.near.chats", () => _near?.Count ?? 0, unit: "{chat}", description: "Chats held (or listened to) by the near cache.");

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
