using ChatService.Tests.Api;
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

public sealed class OtlpExportTests(OtlpFixture fixture) : ApiTestBase(fixture), IClassFixture<OtlpFixture>
{
    [Fact]
    public async Task OtlpEndpointConfigured_ExportsTracesMetricsAndLogs()
    {
        var collector = ((OtlpFixture)Fixture).Collector;
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        await SendAsync(user, chat.ChatId, "Hello.");

        var deadline = DateTime.UtcNow.AddSeconds(10);
        string[] signals = ["/v1/traces", "/v1/metrics", "/v1/logs"];
        while (signals.Any(path => !collector.Exports.Any(e => e.Path == path && e.Bytes > 0)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, Ct);
        }

        foreach (var path in signals)
        {
            Assert.Contains(collector.Exports, e => e.Path == path && e.Bytes > 0 && e.ContentType == "application/x-protobuf");
        }
    }
}
