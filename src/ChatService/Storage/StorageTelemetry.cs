using Spanner.Client;

namespace ChatService.Storage;

/// <summary>Names under which storage reports (the Spanner client's own meter and spans), for the telemetry setup to export.</summary>
public static class StorageTelemetry
{
    public const string MeterName = SpannerTelemetry.MeterName;

    public const string ActivitySourceName = SpannerTelemetry.ActivitySourceName;
}
