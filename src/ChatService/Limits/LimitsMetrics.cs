using System.Diagnostics.Metrics;

namespace ChatService.Limits;

/// <summary>The limiter's instruments. Recording never throws.</summary>
internal static class LimitsMetrics
{
    public const string MeterName = "ChatService.Limits";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Rejected = Meter.CreateCounter<long>("chat.limits.rejected", description: "Calls refused by a per-user limit, by limit.");

    public static void Reject(string limit) => Rejected.Add(1, new KeyValuePair<string, object?>("limit", limit));
}
