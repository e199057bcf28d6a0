using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Telemetry;

/// <summary>The service with <c>Telemetry:OtlpEndpoint</c> set, exporting to a stand-in collector.</summary>
public sealed class OtlpFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public OtlpReceiver Collector { get; } = new();

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Telemetry:OtlpEndpoint"] = Collector.Endpoint,
        ["Telemetry:OtlpProtocol"] = "HttpProtobuf",
        // Export within the test's patience rather than every 5 s (spans) and 60 s (metrics).
        ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
    };

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Collector.Dispose();
    }
}
