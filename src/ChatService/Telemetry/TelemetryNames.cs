using ChatService.Cache;
using ChatService.Dispatch;
using ChatService.HealthChecks;
using ChatService.Inference;
using ChatService.Limits;
using Spanner.Client;

namespace ChatService.Telemetry;

/// <summary>Every meter and activity source of the service's own components, for registering them in one place.</summary>
internal static class TelemetryNames
{
    public static readonly string[] Meters =
    [
        SpannerTelemetry.MeterName,
        CacheMetrics.MeterName,
        DispatchMetrics.MeterName,
        InferenceMetrics.MeterName,
        LimitsMetrics.MeterName,
        HealthMetrics.MeterName,
    ];

    public static readonly string[] ActivitySources =
    [
        SpannerTelemetry.ActivitySourceName,
        CacheTracing.ActivitySourceName,
        DispatchTracing.ActivitySourceName,
        InferenceTracing.ActivitySourceName,
    ];
}
