using ChatService.Cache;
using ChatService.Dispatch;
using ChatService.HealthChecks;
using ChatService.Inference;
using ChatService.Limits;
using ChatService.Resilience;
using ChatService.Storage;

namespace ChatService.Telemetry;

/// <summary>Every meter and activity source of the service's own components, for registering them in one place.</summary>
internal static class TelemetryNames
{
    public static readonly string[] Meters =
    [
        StorageTelemetry.MeterName,
        CacheMetrics.MeterName,
        DispatchMetrics.MeterName,
        InferenceMetrics.MeterName,
        LimitsMetrics.MeterName,
        RetryPolicy.MeterName,
        HealthMetrics.MeterName,
        Memory.SummaryMetrics.MeterName,
        Auth.AuthMetrics.MeterName,
        Moderation.ModerationMetrics.MeterName,
        Privacy.DataDeletionMetrics.MeterName,
    ];

    public static readonly string[] ActivitySources =
    [
        StorageTelemetry.ActivitySourceName,
        CacheTracing.ActivitySourceName,
        DispatchTracing.ActivitySourceName,
        InferenceTracing.ActivitySourceName,
    ];
}
